import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { StiClients } from '../../apps/clm/src/procurement/sti-clients.js';
import { onboardProvider, testAdmin } from '../support/factories.js';
import { useProcurementApp } from '../support/procurement-app.js';

/**
 * One STI-PA client per API user is shared by every order of that provider. Each token request
 * stamps lastLoginAt on the account row (bumping updatedAt); that must not replace, and close,
 * the client other orders are using at that moment. A new password must still get a new client.
 */
describe('the shared STI-PA client of a provider (integration)', () => {
  const fixture = useProcurementApp();

  it('outlives a lastLoginAt stamp on its row, and is replaced (without cutting requests under way) when the password changes', async () => {
    const { clm, sandbox } = fixture;
    const { provider, stiPaUser } = await onboardProvider(clm, sandbox);
    const clients = clm.app.get(StiClients);
    const account = () => clm.prisma.stiPaAccount.findUniqueOrThrow({ where: { providerId: provider.id } });

    const before = await account();
    const first = clients.stiPa(before);
    await first.login();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const stamped = await clm.prisma.stiPaAccount.update({ where: { providerId: provider.id }, data: { lastLoginAt: new Date(), lastError: null } });
    // The premise: the stamp is a new row version (what the cache used to be keyed on).
    expect(stamped.updatedAt.getTime()).toBeGreaterThan(before.updatedAt.getTime());
    expect(clients.stiPa(stamped)).toBe(first);

    // A new password (same value, sealed anew) is a new login identity: a new client...
    await clm.providers.putStiPaAccount(provider.id, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, userId: stiPaUser.userId, password: stiPaUser.password }, testAdmin());
    const second = clients.stiPa(await account());
    expect(second).not.toBe(first);
    // ...while the replaced one still finishes what it was asked to do.
    await expect(first.getCaList()).resolves.toMatchObject({ trustListPem: expect.any(Array) });
    await expect(second.getCaList()).resolves.toMatchObject({ trustListPem: expect.any(Array) });
  });
});
