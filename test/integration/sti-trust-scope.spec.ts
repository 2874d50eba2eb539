import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StiTrust } from '../../apps/clm/src/config/config.module.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { onboardProvider, registerSandboxStiCa, testAdmin } from '../support/factories.js';
import { LoopbackStiCrPublisher } from '../support/loopback-sti-cr-publisher.js';
import { startProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const admin = { type: 'admin' as const, admin: testAdmin() };

/**
 * The embedded sandbox's trust anchors are scoped, as the embedded default sets them up
 * (boot/runtime.ts): its STI-PA root and loopback TLS root serve STI-PA accounts of environment
 * `sandbox` only, and its STI-CA through the sandbox STI-CA row's own anchors. A production STI-PA
 * account pointed at the very same STI-PA never accepts what is chained to those roots.
 */
describe('sandbox trust applies to sandbox accounts and the sandbox STI-CA row only (integration)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let publisher: LoopbackStiCrPublisher;
  const apps: ProcurementApp[] = [];

  beforeAll(async () => {
    [db, sandbox, publisher] = await Promise.all([createTestDatabase(), startSandboxProcess(), LoopbackStiCrPublisher.start()]);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await publisher?.close();
    await sandbox?.stop();
    await db?.drop();
  });

  /** Production pins some other STI-PA root (here: an unrelated one the sandbox made, its STI-CA root). */
  function scopedTrust(extra: Partial<StiTrust> = {}): StiTrust {
    return {
      stiPaRootsPem: [sandbox.stiCaRootPem],
      tlsCaPem: [],
      sandbox: { stiPaRootsPem: [sandbox.stiPaRootPem, readFileSync(sandbox.paths.stiPaCrlSigner, 'utf8')], tlsRootPem: sandbox.tlsRootPem },
      ...extra,
    };
  }

  async function app(trust: StiTrust): Promise<ProcurementApp> {
    const started = await startProcurementApp({ db, sandbox, publisher, trust });
    apps.push(started);
    return started;
  }

  /** The sandbox STI-CA row as boot/sandbox-registration.ts writes it: the sandbox's TLS root as its own anchors. */
  function sandboxStiCaRow(clm: ProcurementApp) {
    return clm.stiCas.create({ name: `Sandbox STI-CA ${Date.now()}`, directoryUrl: sandbox.acmeDirectory, trustAnchors: sandbox.tlsRootPem }, testAdmin());
  }

  async function procure(clm: ProcurementApp, environment: 'sandbox' | 'production', stiCaId: string) {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    if (environment !== 'sandbox') {
      const account = await clm.prisma.stiPaAccount.findUniqueOrThrow({ where: { providerId: provider.id } });
      await clm.prisma.stiPaAccount.update({ where: { id: account.id }, data: { environment } });
    }
    const { certificateId } = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId }, admin);
    await clm.worker.drain();
    return { provider, view: await clm.certificates.get(certificateId) };
  }

  it('a sandbox STI-PA account with the sandbox STI-CA row: trusted end to end, the certificate goes active', async () => {
    const clm = await app(scopedTrust());
    const ca = await sandboxStiCaRow(clm);
    const { view } = await procure(clm, 'sandbox', ca.id);
    expect(view.state).toBe('active');
  });

  it('a production STI-PA account at the same STI-PA: the sandbox TLS root is not trusted for it', async () => {
    const clm = await app(scopedTrust());
    const ca = await sandboxStiCaRow(clm);
    const { provider, view } = await procure(clm, 'production', ca.id);
    // The ACME account at the sandbox STI-CA was made (its row trusts the sandbox); the STI-PA was not reachable.
    expect(view.order).toMatchObject({ state: 'account_ready', attempts: 1 });
    expect(view.order!.lastErrorCode).toMatch(/^STI_PA\./);
    expect(view.order!.lastError).toMatch(/certificate|TLS|self.signed|issuer/i);
    expect(await clm.prisma.spcToken.count({ where: { providerId: provider.id } })).toBe(0);
  });

  it('a production STI-PA account never accepts a token chained to the sandbox STI-PA root, even when TLS to it is configured', async () => {
    // The operator trusts the host's TLS (CLM_TLS_CA_FILE), so the token is fetched: its chain is what is refused.
    const clm = await app(scopedTrust({ tlsCaPem: [sandbox.tlsRootPem] }));
    const ca = await sandboxStiCaRow(clm);
    const { provider, view } = await procure(clm, 'production', ca.id);
    expect(view.order).toMatchObject({ state: 'account_ready', attempts: 1, lastErrorCode: 'SPC_TOKEN.UNTRUSTED_ISSUER' });
    expect(await clm.prisma.spcToken.count({ where: { providerId: provider.id } })).toBe(0);

    // With no production root pinned at all, the same account is told so instead of borrowing the sandbox's.
    const unpinned = await app(scopedTrust({ stiPaRootsPem: [], tlsCaPem: [sandbox.tlsRootPem] }));
    const ca2 = await sandboxStiCaRow(unpinned);
    const second = await procure(unpinned, 'production', ca2.id);
    expect(second.view.order).toMatchObject({ lastErrorCode: 'STI_PA.ROOTS_NOT_PINNED' });
    expect(second.view.order!.lastError).toContain('production');
  });

  it('an STI-CA row without the sandbox anchors does not inherit them', async () => {
    const clm = await app(scopedTrust());
    const ca = await registerSandboxStiCa(clm, sandbox);
    const { view } = await procure(clm, 'sandbox', ca.id);
    expect(view.order).toMatchObject({ state: 'key_generated', attempts: 1 });
    expect(view.order!.lastErrorCode).toMatch(/^ACME\./);
  });
});
