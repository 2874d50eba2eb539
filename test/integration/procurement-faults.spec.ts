import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Keystore } from '@app/keystore';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { KEYSTORE } from '../../apps/clm/src/config/config.module.js';
import { openSpcToken } from '../../apps/clm/src/procurement/sealed-spc-token.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { onboardProvider, registerSandboxStiCa, testAdmin } from '../support/factories.js';
import { LoopbackStiCrPublisher } from '../support/loopback-sti-cr-publisher.js';
import { ShiftedClock, startProcurementApp, useProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const HOUR = 3_600_000;
const admin = { type: 'admin' as const, admin: testAdmin() };

/** The wait each scheduled retry chose: its nextAttemptAt minus the moment the failure was recorded. */
function retryDelays(view: CertificateView): number[] {
  return view.events!
    .filter((e) => e.type === 'order.retry_scheduled')
    .map((e) => new Date((e.details as { nextAttemptAt: string }).nextAttemptAt).getTime() - new Date(e.at).getTime());
}

/**
 * Each sandbox fault ends the order in the right state with the right code, and the OCN's
 * certificate that was active before stays active and untouched. The service's clock can jump
 * ahead, so the backoff (1 h × 2^(n−1)) is walked through without waiting.
 */
describe('procurement under sandbox faults (integration)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let publisher: LoopbackStiCrPublisher;
  let clm: ProcurementApp;
  const clock = new ShiftedClock();

  beforeAll(async () => {
    [db, sandbox, publisher] = await Promise.all([createTestDatabase(), startSandboxProcess(), LoopbackStiCrPublisher.start()]);
    clm = await startProcurementApp({ db, sandbox, publisher, clock });
  });
  afterEach(async () => {
    await sandbox.adminApi('DELETE', '/faults');
    publisher.failing = false;
  });
  afterAll(async () => {
    await clm?.close();
    await publisher?.close();
    await sandbox?.stop();
    await db?.drop();
  });

  /** A provider whose OCN already has an active certificate, ready to be renewed under a fault. */
  async function withActiveCertificate(): Promise<{ ocn: string; active: CertificateView }> {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const { certificateId } = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    const active = await clm.certificates.get(certificateId);
    expect(active.state).toBe('active');
    return { ocn: ocns[0]!, active };
  }

  async function renewUnderFault(faults: Record<string, unknown>): Promise<{ before: CertificateView; renewal: CertificateView }> {
    const { active } = await withActiveCertificate();
    // Past the one-minute reuse of the CA list and CRL, so the fault is seen at once.
    clock.advance(2 * 60_000);
    await sandbox.adminApi('POST', '/faults', faults);
    const { certificateId } = await clm.procurement.requestRenewal(active.id, admin);
    await clm.worker.drain();
    return { before: active, renewal: await clm.certificates.get(certificateId) };
  }

  /** The previous certificate is exactly as it was: still the OCN's one active certificate. */
  async function expectStillActive(before: CertificateView): Promise<void> {
    const now = await clm.certificates.get(before.id);
    expect(now).toMatchObject({ state: 'active', x5u: before.x5u, serial: before.serial, supersededAt: null });
    expect(await clm.prisma.certificate.count({ where: { ocn: { code: before.ocn }, status: 'active' } })).toBe(1);
  }

  it('wrong-key certificate: checked fails with CERT.KEY_MISMATCH, no retry, previous stays active', async () => {
    const { before, renewal } = await renewUnderFault({ wrongKeyCertificate: true });
    expect(renewal.state).toBe('failed');
    expect(renewal.order).toMatchObject({ state: 'failed', lastErrorCode: 'CERT.KEY_MISMATCH', attempts: 1 });
    expect(renewal.serial).not.toBeNull(); // it was downloaded, then refused
    expect(renewal.x5u).toBeNull(); // and never published
    expect(renewal.events!.at(-1)).toMatchObject({ type: 'order.failed', details: { state: 'downloaded', code: 'CERT.KEY_MISMATCH', permanent: true } });
    await expectStillActive(before);
    expect(publisher.published.has(renewal.id)).toBe(false);
  });

  it('certificate for another SPC: CERT.TN_AUTH_LIST_MISMATCH, previous stays active', async () => {
    const { before, renewal } = await renewUnderFault({ otherSpcCertificate: 'ZZ99' });
    expect(renewal.order).toMatchObject({ state: 'failed', lastErrorCode: 'CERT.TN_AUTH_LIST_MISMATCH' });
    expect(renewal.state).toBe('failed');
    await expectStillActive(before);
  });

  it('revoked STI-CA: the root is off the CA list, so the chain is untrusted; previous stays active', async () => {
    const { before, renewal } = await renewUnderFault({ revokedCa: true });
    expect(renewal.order).toMatchObject({ state: 'failed', lastErrorCode: 'CERT.UNTRUSTED_CHAIN' });
    await expectStillActive(before);
    clock.advance(2 * 60_000);
  });

  it('expired SPC token: refused before it reaches the CA, retried after 1 h with a fresh token, then active', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    await sandbox.adminApi('POST', '/faults', { expiredSpcToken: true });
    const { certificateId } = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    let view = await clm.certificates.get(certificateId);
    expect(view.state).toBe('ordering');
    expect(view.order).toMatchObject({ state: 'account_ready', attempts: 1, lastErrorCode: 'SPC_TOKEN.EXPIRED' });
    expect(retryDelays(view)).toEqual([HOUR]);
    expect(await clm.prisma.spcToken.count({ where: { providerId: provider.id } })).toBe(0);

    // Not due yet: nothing happens.
    clock.advanceTo(new Date(new Date(view.order!.nextAttemptAt).getTime() - 60_000));
    await clm.worker.drain();
    expect((await clm.certificates.get(certificateId)).order!.attempts).toBe(1);

    await sandbox.adminApi('DELETE', '/faults');
    clock.advanceTo(new Date(view.order!.nextAttemptAt));
    await clm.worker.drain();
    view = await clm.certificates.get(certificateId);
    expect(view.state).toBe('active');
    expect(view.order).toMatchObject({ attempts: 0, lastErrorCode: null });
    expect(view.events!.map((e) => e.type)).toContain('order.retry_scheduled');
  });

  /** The sandbox's record of the ACME orders placed since `since` orders existed. */
  async function acmeOrdersSince(since: number): Promise<{ status: string; challengeAttempts: number[] }[]> {
    const state = await sandbox.adminApi<{ acme: { orders: { status: string; challengeAttempts: number[] }[] } }>('GET', '/state');
    return state.acme.orders.slice(since);
  }
  async function acmeOrderCount(): Promise<number> {
    return (await acmeOrdersSince(0)).length;
  }

  it('challenge turned invalid by the CA: a NEW ACME order answered with a fresh token, the dead one never answered again, then active', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const ordersBefore = await acmeOrderCount();
    await sandbox.adminApi('POST', '/faults', { refuseChallenges: 1 });
    const { certificateId } = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    const view = await clm.certificates.get(certificateId);
    expect(view.state).toBe('active');
    // RFC 8555 §7.1.6: the first order is left invalid; the second got the one answer it needed.
    expect(await acmeOrdersSince(ordersBefore)).toEqual([
      expect.objectContaining({ status: 'invalid', challengeAttempts: [1] }),
      expect.objectContaining({ status: 'valid', challengeAttempts: [1] }),
    ]);
    const order = await clm.prisma.certificateOrder.findUniqueOrThrow({ where: { certificateId }, include: { spcToken: true } });
    expect(order).toMatchObject({ challengeRetries: 1, freshTokenNeeded: false });
    const tokens = await clm.prisma.spcToken.findMany({ where: { providerId: provider.id }, orderBy: { createdAt: 'asc' } });
    expect(tokens.map((t) => t.status)).toEqual(['refused', 'valid']);
    expect(order.spcTokenId).toBe(tokens[1]!.id);
    // Bearer credentials: stored sealed under the KEK, bound to their row; no clear JWS in the table.
    const keystore = clm.app.get<Keystore>(KEYSTORE);
    for (const token of tokens) expect(openSpcToken(keystore, token)).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const [clear] = await clm.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM spc_tokens WHERE token_sealed IS NULL OR position(convert_to('eyJ', 'UTF8') IN token_sealed) > 0`;
    expect(clear!.n).toBe(0n);
    const retry = view.events!.find((e) => e.type === 'order.challenge_retry');
    expect(retry?.details).toMatchObject({ from: 'order_created', challengeRetry: 1, problem: { detail: expect.stringContaining('SPC_TOKEN.REVOKED') } });
    expect(view.events!.filter((e) => e.type === 'acme.new_order_sent')).toHaveLength(2);
  });

  it('challenge turned invalid three times: two new orders with fresh tokens, then failed with ACME.CHALLENGE_INVALID and the CA\'s problem', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const ordersBefore = await acmeOrderCount();
    await sandbox.adminApi('POST', '/faults', { refuseChallenges: 3 });
    const { certificateId } = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    const view = await clm.certificates.get(certificateId);
    expect(view.state).toBe('failed');
    expect(view.order).toMatchObject({ state: 'failed', lastErrorCode: 'ACME.CHALLENGE_INVALID' });
    expect(view.order!.lastError).toContain('SPC_TOKEN.REVOKED');
    expect(view.order!.lastError).toContain('gave up after 2 new ACME order(s)');
    expect(await acmeOrdersSince(ordersBefore)).toEqual([1, 2, 3].map(() => expect.objectContaining({ status: 'invalid', challengeAttempts: [1] })));
    const tokens = await clm.prisma.spcToken.findMany({ where: { providerId: provider.id } });
    expect(tokens.map((t) => t.status)).toEqual(['refused', 'refused', 'refused']);
    expect(view.events!.filter((e) => e.type === 'order.challenge_retry')).toHaveLength(2);
  });

  it('5xx storm at the STI-CA: backs off 1 h, 2 h, 4 h with the code visible, previous stays active, then completes', async () => {
    const { before, renewal } = await renewUnderFault({ serverErrorRate: 1, serverErrorScope: 'acme' });
    expect(renewal.state).toBe('ordering');
    expect(renewal.order).toMatchObject({ state: 'token_obtained', attempts: 1, lastErrorCode: 'ACME.SERVER_ERROR' });
    await expectStillActive(before);

    let last = renewal;
    for (const expectedAttempts of [2, 3]) {
      clock.advanceTo(new Date(last.order!.nextAttemptAt));
      await clm.worker.drain();
      last = await clm.certificates.get(renewal.id);
      expect(last.order).toMatchObject({ state: 'token_obtained', attempts: expectedAttempts, lastErrorCode: 'ACME.SERVER_ERROR' });
    }
    expect(retryDelays(last)).toEqual([HOUR, 2 * HOUR, 4 * HOUR]);
    await expectStillActive(before);

    await sandbox.adminApi('DELETE', '/faults');
    clock.advanceTo(new Date(last.order!.nextAttemptAt));
    await clm.worker.drain();
    expect((await clm.certificates.get(renewal.id)).state).toBe('active');
    expect((await clm.certificates.get(before.id)).state).toBe('superseded');
  });

  it('5xx storm at the STI-PA: the token request fails as STI_PA.UNAVAILABLE and is retried later', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    await sandbox.adminApi('POST', '/faults', { serverErrorRate: 1, serverErrorScope: 'sti-pa' });
    const { certificateId } = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    const view = await clm.certificates.get(certificateId);
    expect(view.order).toMatchObject({ state: 'account_ready', attempts: 1, lastErrorCode: 'STI_PA.UNAVAILABLE' });
    const account = await clm.prisma.stiPaAccount.findUniqueOrThrow({ where: { providerId: provider.id } });
    expect(account.lastError).toMatch(/^STI_PA\.UNAVAILABLE/);
  });

  it('store outage at publish: waits in publishing with the store\'s code, previous stays active, then activates', async () => {
    const { active } = await withActiveCertificate();
    publisher.failing = true;
    const { certificateId } = await clm.procurement.requestRenewal(active.id, admin);
    await clm.worker.drain();
    let view = await clm.certificates.get(certificateId);
    expect(view.state).toBe('publishing');
    expect(view.order).toMatchObject({ state: 'checked', attempts: 1, lastErrorCode: 'STORAGE.UNAVAILABLE' });
    await expectStillActive(active);

    publisher.failing = false;
    clock.advanceTo(new Date(view.order!.nextAttemptAt));
    await clm.worker.drain();
    view = await clm.certificates.get(certificateId);
    expect(view.state).toBe('active');
    expect((await clm.certificates.get(active.id)).state).toBe('superseded');
  });

  it('gives up after CLM_PROCUREMENT_MAX_ATTEMPTS retryable failures, keeping the last code', async () => {
    const limited = await startProcurementApp({ db, sandbox, publisher, clock, env: { CLM_PROCUREMENT_MAX_ATTEMPTS: '2' } });
    try {
      const { provider, ocns } = await onboardProvider(limited, sandbox);
      const ca = await registerSandboxStiCa(limited, sandbox);
      await sandbox.adminApi('POST', '/faults', { refuseStiPaLogin: true });
      const { certificateId } = await limited.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
      await limited.worker.drain();
      expect((await limited.certificates.get(certificateId)).order).toMatchObject({ attempts: 1, lastErrorCode: 'STI_PA.BAD_CREDENTIALS' });
      clock.advanceTo(new Date((await limited.certificates.get(certificateId)).order!.nextAttemptAt));
      await limited.worker.drain();
      const view = await limited.certificates.get(certificateId);
      expect(view.state).toBe('failed');
      expect(view.order).toMatchObject({ state: 'failed', attempts: 2, lastErrorCode: 'STI_PA.BAD_CREDENTIALS' });
      expect(view.order!.lastError).toMatch(/^gave up after 2 attempts/);
    } finally {
      await limited.close();
    }
  });
});

describe('procurement without an STI-CR publisher (integration)', () => {
  const fixture = useProcurementApp();

  it('waits in publishing with PUBLISH.NOT_CONFIGURED instead of activating an unpublished certificate', async () => {
    const { clm, sandbox } = fixture;
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const { certificateId } = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    const view = await clm.certificates.get(certificateId);
    expect(view.state).toBe('publishing');
    expect(view.order).toMatchObject({ state: 'checked', lastErrorCode: 'PUBLISH.NOT_CONFIGURED' });
    expect(view.x5u).toBeNull();
  });
});
