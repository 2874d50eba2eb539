import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StiClients } from '../../apps/clm/src/procurement/sti-clients.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { onboardProvider, testAdmin } from '../support/factories.js';
import { startProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

/**
 * One STI-PA client per API user is shared by every order of that provider. Each token request
 * stamps lastLoginAt on the account row (bumping updatedAt); that must not replace, and close,
 * the client other orders are using at that moment. A new password must still get a new client.
 */
describe('the shared STI-PA client of a provider (integration)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let clm: ProcurementApp;

  beforeAll(async () => {
    [db, sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess()]);
    clm = await startProcurementApp({ db, sandbox });
  });
  afterAll(async () => {
    await clm?.close();
    await sandbox?.stop();
    await db?.drop();
  });

  it('outlives a lastLoginAt stamp on its row, and is replaced (without cutting requests under way) when the password changes', async () => {
    const { provider, stiPaUser } = await onboardProvider(clm, sandbox);
    const clients = clm.app.get(StiClients);
    const account = () => clm.prisma.stiPaAccount.findUniqueOrThrow({ where: { providerId: provider.id } });

    const first = clients.stiPa(await account());
    await first.login();
    const stamped = await clm.prisma.stiPaAccount.update({ where: { providerId: provider.id }, data: { lastLoginAt: new Date(), lastError: null } });
    expect(stamped.updatedAt.getTime()).toBeGreaterThan(0);
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
