import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AdminTokenService } from '../../apps/clm/src/auth/admin-token.service.js';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { ManualClock } from '../../apps/clm/src/common/clock.js';
import { CertificateExpiry } from '../../apps/clm/src/renewal/certificate-expiry.service.js';
import { RENEWAL_RETRY_AFTER_FAILURE_MS, RenewalScheduler } from '../../apps/clm/src/renewal/renewal-scheduler.service.js';
import { RevocationService } from '../../apps/clm/src/renewal/revocation.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { onboardProvider, registerSandboxStiCa, testAdmin } from '../support/factories.js';
import { LoopbackStiCrPublisher } from '../support/loopback-sti-cr-publisher.js';
import { startProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const DAY = 86_400_000;
/**
 * The sandbox's clock runs this far behind the service's manual clock: real time keeps moving
 * while the manual clock stands still, and what the sandbox dates (CRL thisUpdate, notBefore)
 * must never be ahead of the service's "now".
 */
const SANDBOX_LAG_MS = 5 * 60_000;

interface SandboxState { acme: { certificates: { serial: string; revocation: unknown }[] }; stiPa: { crl: { revokedSerials: string[] } } }

describe('renewal through the sandbox with a moving clock (integration)', () => {
  let sandbox: SandboxProcess;
  let publisher: LoopbackStiCrPublisher;
  // Each test gets its own database, service and clock: time only moves forward within a test,
  // and no test's certificates fall due in another's scan.
  let db: TestDatabase;
  let clm: ProcurementApp;
  let renewals: RenewalScheduler;
  let expiry: CertificateExpiry;
  let token: string;
  let clock: ManualClock;

  /** Moves the sandbox's clock with ours (admin switch POST /admin/clock). */
  async function syncSandboxClock(): Promise<void> {
    await sandbox.adminApi('POST', '/clock', { offsetMs: clock.now().getTime() - Date.now() - SANDBOX_LAG_MS });
  }

  async function moveTo(at: Date): Promise<void> {
    clock.set(at);
    await syncSandboxClock();
  }

  async function http(method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) {
    const res = await clm.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : undefined };
  }

  /** Polls the OCN's active certificates while `work` runs: any moment with none is recorded. */
  async function watchActive<T>(ocn: string, work: () => Promise<T>): Promise<{ result: T; samples: number; gaps: number }> {
    let done = false;
    let samples = 0;
    let gaps = 0;
    const watcher = (async () => {
      while (!done) {
        const active = await clm.prisma.certificate.count({ where: { ocn: { code: ocn }, status: 'active' } });
        samples += 1;
        if (active !== 1) gaps += 1;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    try {
      return { result: await work(), samples, gaps };
    } finally {
      done = true;
      await watcher;
    }
  }

  async function activeOf(ocn: string): Promise<CertificateView> {
    const [active] = await clm.certificates.list({ ocn, state: 'active' });
    expect(active).toBeDefined();
    return active!;
  }

  beforeAll(async () => {
    [sandbox, publisher] = await Promise.all([startSandboxProcess(), LoopbackStiCrPublisher.start()]);
  });
  afterAll(async () => {
    await publisher?.close();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    // Ahead of real time, so the sandbox (5 minutes behind it) is still after its own PKI's notBefore.
    clock = new ManualClock(new Date(Date.now() + 2 * SANDBOX_LAG_MS));
    await syncSandboxClock();
    db = await createTestDatabase();
    clm = await startProcurementApp({ db, sandbox, publisher, clock });
    renewals = clm.app.get(RenewalScheduler);
    expiry = clm.app.get(CertificateExpiry);
    token = (await clm.app.get(AdminTokenService).create('renewal test', 'compliance', testAdmin())).token;
  });
  afterEach(async () => {
    await clm?.close();
    await db?.drop();
    await sandbox.adminApi('DELETE', '/faults');
  });

  it('renews three times as time moves: a new key each time, never without an active certificate, old ones superseded then expired', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ocn = ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const first = await clm.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();
    const chain: CertificateView[] = [await clm.certificates.get(first.certificateId)];
    expect(chain[0]!.state).toBe('active');

    for (let round = 1; round <= 3; round++) {
      const current = chain.at(-1)!;
      // Not due a second early: the scan leaves it alone.
      await moveTo(new Date(new Date(current.renewAt!).getTime() - 1_000));
      expect(await renewals.scan()).toMatchObject({ due: 0, started: 0 });

      await moveTo(new Date(current.renewAt!));
      const { result: scan, gaps: scanGaps } = await watchActive(ocn, () => renewals.scan());
      expect(scan).toMatchObject({ due: 1, started: 1, refused: 0, errors: 0 });
      // A second scan while the renewal is in flight starts nothing.
      expect(await renewals.scan()).toMatchObject({ due: 0, started: 0 });
      expect((await activeOf(ocn)).id).toBe(current.id);

      const { samples, gaps } = await watchActive(ocn, () => clm.worker.drain());
      expect(samples).toBeGreaterThan(10);
      expect(scanGaps + gaps).toBe(0);

      const renewed = await activeOf(ocn);
      const previous = await clm.certificates.get(current.id);
      expect(renewed).toMatchObject({ renewedFromId: current.id, state: 'active' });
      expect(previous.state).toBe('superseded');
      // Superseded in the same transaction that activated its successor.
      expect(previous.supersededAt).toEqual(renewed.activatedAt);
      // The successor is valid from (about) now, for the sandbox's 90 days, and due a third before its end.
      expect(Math.abs(new Date(renewed.notBefore!).getTime() - clock.now().getTime())).toBeLessThan(SANDBOX_LAG_MS + 2 * 60_000);
      expect(new Date(renewed.notAfter!).getTime() - new Date(renewed.notBefore!).getTime()).toBe(90 * DAY);
      expect(new Date(renewed.notAfter!).getTime() - new Date(renewed.renewAt!).getTime()).toBe(30 * DAY);
      chain.push(renewed);

      // The superseded certificate stays as it is until its notAfter, then becomes expired.
      await moveTo(new Date(new Date(previous.notAfter!).getTime() - 1_000));
      expect(await expiry.expireLapsed()).toEqual({ expired: 0, wereActive: 0 });
      await moveTo(new Date(previous.notAfter!));
      expect(await expiry.expireLapsed()).toEqual({ expired: 1, wereActive: 0 });
      expect((await clm.certificates.get(previous.id)).state).toBe('expired');
      expect((await activeOf(ocn)).id).toBe(renewed.id);
    }

    const rows = await clm.prisma.certificate.findMany({ where: { ocn: { code: ocn } }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => r.status)).toEqual(['expired', 'expired', 'expired', 'active']);
    // Key rotation `always` (the default): four certificates, four keys.
    expect(new Set(rows.map((r) => r.keyId)).size).toBe(4);
    expect(new Set(rows.map((r) => r.serial)).size).toBe(4);
    // Each renewal renewed its predecessor.
    expect(rows.slice(1).map((r) => r.renewedFromId)).toEqual(rows.slice(0, 3).map((r) => r.id));
    // The STI-CA issued exactly four certificates for this OCN's serials: no order twice.
    const state = await sandbox.adminApi<SandboxState>('GET', '/state');
    expect(state.acme.certificates.filter((c) => rows.some((r) => r.serial === c.serial))).toHaveLength(4);
    // The expired ones are announced as such.
    const expiredAudit = await clm.prisma.auditEvent.count({ where: { action: 'certificate.expired', subjectId: { in: rows.slice(0, 3).map((r) => r.id) } } });
    expect(expiredAudit).toBe(3);
  });

  it('keeps the previous certificate active when a renewal fails at the CA, reports it once, and retries a day later', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ocn = ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const webhook = await http('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/never-listening', events: ['certificate.renewal_failed'] });
    expect(webhook.status).toBe(201);
    const first = await clm.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();
    const current = await clm.certificates.get(first.certificateId);

    await moveTo(new Date(current.renewAt!));
    await sandbox.adminApi('POST', '/faults', { wrongKeyCertificate: true });
    try {
      expect(await renewals.scan()).toMatchObject({ started: 1 });
      const { gaps } = await watchActive(ocn, () => clm.worker.drain());
      expect(gaps).toBe(0);
    } finally {
      await sandbox.adminApi('DELETE', '/faults');
    }
    const [failed] = await clm.certificates.list({ ocn, state: 'failed' });
    expect(failed).toMatchObject({ renewedFromId: current.id, order: { state: 'failed', lastErrorCode: 'CERT.KEY_MISMATCH' } });
    expect((await activeOf(ocn)).id).toBe(current.id);

    // The scan reports the failure once (webhook delivery queued, audit row) and does not retry at once.
    expect(await renewals.scan()).toMatchObject({ due: 0, started: 0, failuresReported: 1 });
    expect(await renewals.scan()).toMatchObject({ due: 0, started: 0, failuresReported: 0 });
    const deliveries = await clm.prisma.webhookDelivery.findMany({ where: { webhookId: webhook.json!.id as string } });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.payload).toMatchObject({
      type: 'certificate.renewal_failed',
      subject: { type: 'certificate', id: current.id },
      data: { stage: 'order', renewalId: failed!.id, code: 'CERT.KEY_MISMATCH', renewedCertificateState: 'active' },
    });

    await moveTo(new Date(clock.now().getTime() + RENEWAL_RETRY_AFTER_FAILURE_MS + 1_000));
    expect(await renewals.scan()).toMatchObject({ due: 1, started: 1 });
    await clm.worker.drain();
    const renewed = await activeOf(ocn);
    expect(renewed).toMatchObject({ renewedFromId: current.id });
    expect((await clm.certificates.get(current.id)).state).toBe('superseded');
  });

  it('renews and revokes on request: renew now, revoke with a replacement first, revoke outright', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ocn = ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const first = await clm.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();

    // Manual renewal, with key rotation `never` for this certificate: the same key is reused.
    expect((await http('PATCH', `/api/v1/certificates/${first.certificateId}/renewal-policy`, { keyRotation: 'never', renewBeforeDays: 45 })).json).toMatchObject({ keyRotation: 'never', renewBeforeDays: 45 });
    const renewedView = await http('POST', `/api/v1/certificates/${first.certificateId}/renew`, {});
    expect(renewedView.status).toBe(202);
    expect(renewedView.json).toMatchObject({ renewedFromId: first.certificateId, state: 'requested' });
    expect((await http('POST', `/api/v1/certificates/${first.certificateId}/renew`, {})).json).toMatchObject({ status: 409, code: 'CERTIFICATE.ORDER_IN_FLIGHT' });
    await clm.worker.drain();
    const second = await clm.certificates.get(renewedView.json!.id as string);
    expect(second.state).toBe('active');
    const keys = await clm.prisma.certificate.findMany({ where: { id: { in: [first.certificateId, second.id] } }, select: { keyId: true } });
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
    // The policy travelled with the renewal: 45 days ahead of notAfter.
    expect(new Date(second.notAfter!).getTime() - new Date(second.renewAt!).getTime()).toBe(45 * DAY);

    expect((await http('POST', `/api/v1/certificates/${first.certificateId}/revoke`, { reason: 'superseded', replace: true })).json).toMatchObject({ status: 409, code: 'CERTIFICATE.REPLACE_NEEDS_ACTIVE' });

    // A renewal in flight that reuses the key (rotation `never`) when the key is reported compromised.
    const reusing = await http('POST', `/api/v1/certificates/${second.id}/renew`, {});
    expect(reusing.status).toBe(202);
    const compromisedKeyId = keys[0]!.keyId;
    expect((await clm.prisma.certificate.findUniqueOrThrow({ where: { id: reusing.json!.id as string } })).keyId).toBe(compromisedKeyId);

    // Revoke with replace: a replacement is ordered and the revocation waits for it.
    const pending = await http('POST', `/api/v1/certificates/${second.id}/revoke`, { reason: 'keyCompromise', replace: true });
    expect(pending.status).toBe(202);
    expect(pending.json).toMatchObject({ state: 'revocation_pending', certificate: { id: second.id, state: 'active' } });
    const replacementId = (pending.json!.replacement as { id: string }).id;
    // Not the renewal that reused the compromised key: that one is cancelled, the replacement has a new key.
    expect(replacementId).not.toBe(reusing.json!.id);
    expect(await clm.certificates.get(reusing.json!.id as string)).toMatchObject({ state: 'failed', order: { state: 'failed', lastErrorCode: 'CERTIFICATE_ORDER.CANCELLED' } });
    expect((await clm.prisma.certificate.findUniqueOrThrow({ where: { id: replacementId } })).keyId).not.toBe(compromisedKeyId);
    // The superseded certificate with the same key still verifies: revoked at once.
    expect(await clm.prisma.certificate.findUniqueOrThrow({ where: { id: first.certificateId } })).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const revokeRun = clm.app.get(RevocationService);
    expect(await revokeRun.completePendingRevocations()).toEqual({ revoked: 0, failed: 0 });
    expect((await activeOf(ocn)).id).toBe(second.id);
    await clm.worker.drain();
    expect((await activeOf(ocn)).id).toBe(replacementId);
    expect(await revokeRun.completePendingRevocations()).toEqual({ revoked: 1, failed: 0 });
    const revoked = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: second.id } });
    expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    // Every certificate of the key is revoked, and the key is destroyed: nothing can hand it out again.
    expect(await clm.prisma.certificate.count({ where: { keyId: compromisedKeyId, status: { in: ['active', 'superseded'] } } })).toBe(0);
    expect(await clm.prisma.privateKey.findUniqueOrThrow({ where: { id: compromisedKeyId } })).toMatchObject({ destroyedAt: expect.any(Date), sealed: null });
    // The CA put both serials on the STI-PA CRL.
    let state = await sandbox.adminApi<SandboxState>('GET', '/state');
    expect(state.stiPa.crl.revokedSerials).toContain(revoked.serial);
    expect(state.stiPa.crl.revokedSerials).toContain((await clm.prisma.certificate.findUniqueOrThrow({ where: { id: first.certificateId } })).serial);

    // Refusals with their own codes.
    expect((await http('POST', `/api/v1/certificates/${second.id}/revoke`, { reason: 'keyCompromise' })).json).toMatchObject({ status: 409, code: 'CERTIFICATE.NOT_REVOCABLE' });
    expect((await http('POST', `/api/v1/certificates/${replacementId}/revoke`, { reason: 'cACompromise' })).json).toMatchObject({ status: 400, code: 'REQUEST.INVALID' });

    // Revoke outright: the OCN is left without an active certificate, as asked.
    const outright = await http('POST', `/api/v1/certificates/${replacementId}/revoke`, { reason: 'cessationOfOperation' });
    expect(outright.status).toBe(200);
    expect(outright.json).toMatchObject({ state: 'revoked', certificate: { id: replacementId, state: 'revoked' }, replacement: null });
    expect(outright.json!.notice).toContain(`OCN ${ocn} has no active certificate now`);
    expect(await clm.prisma.certificate.count({ where: { ocn: { code: ocn }, status: 'active' } })).toBe(0);
    state = await sandbox.adminApi<SandboxState>('GET', '/state');
    const replacementSerial = (await clm.prisma.certificate.findUniqueOrThrow({ where: { id: replacementId } })).serial;
    expect(state.stiPa.crl.revokedSerials).toContain(replacementSerial);
    const audit = await clm.prisma.auditEvent.findFirstOrThrow({ where: { action: 'certificate.revoked', subjectId: replacementId } });
    expect(audit).toMatchObject({ actorType: 'admin', details: expect.objectContaining({ reason: 'cessationOfOperation', source: 'acme', wasActive: true }) });
  });

  it('refuses a renewal policy that would loop or lapse, and clamps one it could not check at activation', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ocn = ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const first = await clm.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();

    // A 90-day certificate: from 1 day to 45 days ahead; each refusal names the field.
    for (const renewBeforeDays of [0, 46, 90]) {
      const refused = await http('PATCH', `/api/v1/certificates/${first.certificateId}/renewal-policy`, { renewBeforeDays });
      expect(refused.status).toBe(renewBeforeDays === 0 ? 400 : 422);
      expect(JSON.stringify(refused.json)).toContain('renewBeforeDays');
    }
    expect((await http('PATCH', `/api/v1/certificates/${first.certificateId}/renewal-policy`, { renewBeforeDays: 45 })).status).toBe(200);
    expect((await http('PATCH', `/api/v1/certificates/${first.certificateId}/renewal-policy`, { renewBeforeDays: null })).status).toBe(200);

    // The STI-CA has no validity of its own (the CA chooses), so 90 days is taken, and clamped to half the lifetime.
    expect((await http('PATCH', `/api/v1/sti-cas/${ca.id}/renewal-policy`, { renewBeforeDays: 90 })).status).toBe(200);
    const current = await clm.certificates.get(first.certificateId);
    expect(new Date(current.renewAt!).getTime() - new Date(current.notBefore!).getTime()).toBe(45 * DAY);

    await moveTo(new Date(current.renewAt!));
    expect(await renewals.scan()).toMatchObject({ due: 1, started: 1 });
    await clm.worker.drain();
    const renewed = await activeOf(ocn);
    expect(renewed.renewedFromId).toBe(current.id);
    // Not due again the moment it is active (the loop): half its life ahead.
    expect(new Date(renewed.renewAt!).getTime() - new Date(renewed.notBefore!).getTime()).toBe(45 * DAY);
    expect(await renewals.scan()).toMatchObject({ due: 0, started: 0 });
  });

  it('revokes a replaced certificate only after the grace window, unless its key is compromised', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ocn = ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const first = await clm.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();

    const pending = await http('POST', `/api/v1/certificates/${first.certificateId}/revoke`, { reason: 'affiliationChanged', replace: true });
    expect(pending).toMatchObject({ status: 202, json: { state: 'revocation_pending', graceHours: 24 } });
    await clm.worker.drain();
    const replacement = await activeOf(ocn);
    expect(replacement.id).toBe((pending.json!.replacement as { id: string }).id);
    const superseded = await clm.certificates.get(first.certificateId);
    expect(superseded.state).toBe('superseded');

    // Calls signed with the old pair just before the swap still verify for the window.
    const revocations = clm.app.get(RevocationService);
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 0, failed: 0 });
    await moveTo(new Date(new Date(superseded.supersededAt!).getTime() + 24 * 3_600_000 - 1_000));
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 0, failed: 0 });
    expect((await clm.certificates.get(first.certificateId)).state).toBe('superseded');
    await moveTo(new Date(new Date(superseded.supersededAt!).getTime() + 24 * 3_600_000));
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 1, failed: 0 });
    expect(await clm.prisma.certificate.findUniqueOrThrow({ where: { id: first.certificateId } })).toMatchObject({ status: 'revoked', revocationReason: 'affiliationChanged' });

    // privilegeWithdrawn: the provider may not sign with it any more, revoked as soon as the replacement is active.
    const withdrawn = await http('POST', `/api/v1/certificates/${replacement.id}/revoke`, { reason: 'privilegeWithdrawn', replace: true });
    expect(withdrawn).toMatchObject({ status: 202, json: { graceHours: 0 } });
    await clm.worker.drain();
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 1, failed: 0 });
  });

  it('journals a revocation before calling the CA, so one the CA did not confirm is finished by the pending-revocations job', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const first = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();

    // The CA answers 5xx: the request fails, but what was asked is on the certificate's timeline.
    await sandbox.adminApi('POST', '/faults', { serverErrorRate: 1, serverErrorScope: 'acme' });
    try {
      expect((await http('POST', `/api/v1/certificates/${first.certificateId}/revoke`, { reason: 'cessationOfOperation' })).json).toMatchObject({ status: 502, code: 'CERTIFICATE.REVOCATION_FAILED' });
    } finally {
      await sandbox.adminApi('DELETE', '/faults');
    }
    expect(await clm.prisma.certificateEvent.count({ where: { certificateId: first.certificateId, type: 'revocation.requested' } })).toBe(1);
    expect((await clm.certificates.get(first.certificateId)).state).toBe('active');

    const revocations = clm.app.get(RevocationService);
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 1, failed: 0 });
    const row = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: first.certificateId } });
    expect(row).toMatchObject({ status: 'revoked', revocationReason: 'cessationOfOperation' });
    expect((await sandbox.adminApi<SandboxState>('GET', '/state')).stiPa.crl.revokedSerials).toContain(row.serial);
    // Done once: the next run finds nothing.
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 0, failed: 0 });
  });

  /** A certificate, its renewal with the same key (rotation `never`, so the first is superseded), and a second renewal reusing the key, in flight. */
  async function keyReusedThrice() {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ocn = ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const first = (await clm.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() })).certificateId;
    await clm.worker.drain();
    expect((await http('PATCH', `/api/v1/certificates/${first}/renewal-policy`, { keyRotation: 'never' })).status).toBe(200);
    const second = (await http('POST', `/api/v1/certificates/${first}/renew`, {})).json!.id as string;
    await clm.worker.drain();
    expect((await activeOf(ocn)).id).toBe(second);
    const reusing = (await http('POST', `/api/v1/certificates/${second}/renew`, {})).json!.id as string;
    const rows = await clm.prisma.certificate.findMany({ where: { id: { in: [first, second, reusing] } }, select: { keyId: true } });
    expect(new Set(rows.map((row) => row.keyId)).size).toBe(1);
    return { ocn, first, second, reusing, keyId: rows[0]!.keyId };
  }

  it('refuses to finalize an order whose reused key was condemned since it began, and the pending-revocations job retires a key a crash left behind', async () => {
    const { ocn, first, second, reusing, keyId } = await keyReusedThrice();
    // A crash between the keyCompromise revocation of `second` (journaled, state committed) and
    // retireKey: the superseded sibling still verifies, the reusing order is in flight, the key sealed.
    await clm.prisma.certificateEvent.create({ data: { certificateId: second, at: clock.now(), type: 'revocation.requested', details: { reason: 'keyCompromise', replace: false } } });
    await clm.prisma.certificate.update({ where: { id: second }, data: { status: 'revoked', revokedAt: clock.now(), revocationReason: 'keyCompromise' } });
    const csrsBefore = await clm.prisma.csr.count({ where: { keyId } });

    await clm.worker.drain();
    const refused = await clm.certificates.get(reusing);
    expect(refused).toMatchObject({ state: 'failed', order: { state: 'failed', lastErrorCode: 'KEY.RETIRED' }, serial: null, activatedAt: null });
    expect(refused.order!.lastError).toContain(keyId);
    // No CSR for the key went to the CA: it certified nothing new.
    expect(await clm.prisma.csr.count({ where: { keyId } })).toBe(csrsBefore);
    expect(await clm.prisma.certificate.count({ where: { ocn: { code: ocn }, status: 'active' } })).toBe(0);

    // The job finishes the retirement: the sibling revoked at the CA, the key destroyed; once.
    const revocations = clm.app.get(RevocationService);
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 0, failed: 0 });
    const sibling = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: first } });
    expect(sibling).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await sandbox.adminApi<SandboxState>('GET', '/state')).stiPa.crl.revokedSerials).toContain(sibling.serial);
    expect(await clm.prisma.privateKey.findUniqueOrThrow({ where: { id: keyId } })).toMatchObject({ destroyedAt: expect.any(Date), sealed: null });
    expect(await revocations.completePendingRevocations()).toEqual({ revoked: 0, failed: 0 });
    expect(await clm.prisma.certificateEvent.count({ where: { type: 'key.destroyed', details: { path: ['keyId'], equals: keyId } } })).toBe(1);
  });

  it('refuses to activate an order whose reused key is condemned after finalize (the STI-PA CRL lists an older certificate of it as keyCompromise)', async () => {
    const { ocn, first, second, reusing, keyId } = await keyReusedThrice();
    // The condemnation lands while the new chain is being published, after the CA certified it:
    // what StiPaCrlMonitor records for a superseded certificate the CRL lists as keyCompromise.
    const publish = publisher.publish;
    publisher.publish = async (request) => {
      const result = await publish.call(publisher, request);
      if (request.certificateId === reusing) {
        await clm.prisma.certificate.update({ where: { id: first }, data: { status: 'revoked', revokedAt: clock.now(), revocationReason: 'keyCompromise' } });
      }
      return result;
    };
    try {
      await clm.worker.drain();
    } finally {
      publisher.publish = publish;
    }
    const refused = await clm.certificates.get(reusing);
    expect(refused.serial).not.toBeNull();
    expect(refused).toMatchObject({ state: 'failed', order: { state: 'failed', lastErrorCode: 'KEY.RETIRED' }, activatedAt: null });
    expect(refused.order!.lastError).toContain(keyId);
    expect(refused.events!.map((event) => event.type)).not.toContain('order.active');
    // Signers were never handed the new certificate: the one active before is still the OCN's.
    expect((await activeOf(ocn)).id).toBe(second);
  });

  it('keyCompromise of a superseded certificate revokes the active one with the same key only after starting a new-key replacement, and says so', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ocn = ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const first = (await clm.procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() })).certificateId;
    await clm.worker.drain();
    expect((await http('PATCH', `/api/v1/certificates/${first}/renewal-policy`, { keyRotation: 'never' })).status).toBe(200);
    const second = (await http('POST', `/api/v1/certificates/${first}/renew`, {})).json!.id as string;
    await clm.worker.drain();
    const { keyId } = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: second } });

    const answer = await http('POST', `/api/v1/certificates/${first}/revoke`, { reason: 'keyCompromise' });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ state: 'revoked', certificate: { id: first, state: 'revoked' } });
    // The active certificate shared the key: revoked too, but the answer names what replaces it.
    expect(await clm.prisma.certificate.findUniqueOrThrow({ where: { id: second } })).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const replacement = answer.json!.replacement as CertificateView;
    expect(replacement).toMatchObject({ renewedFromId: second, order: { kind: 'renew' } });
    expect((await clm.prisma.certificate.findUniqueOrThrow({ where: { id: replacement.id } })).keyId).not.toBe(keyId);
    expect(answer.json!.notice).toContain(`active certificate ${second}`);
    expect(answer.json!.notice).toContain(`certificate ${replacement.id}, with a new key`);
    // Started before the sibling was revoked (FreshKeyReplacement, as for a certificate the CRL lists).
    const replacementRow = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: replacement.id } });
    const siblingRevoked = await clm.prisma.certificateEvent.findFirstOrThrow({ where: { certificateId: second, type: 'certificate.revoked' } });
    expect(replacementRow.createdAt.getTime()).toBeLessThanOrEqual(siblingRevoked.at.getTime());
    expect(await clm.prisma.privateKey.findUniqueOrThrow({ where: { id: keyId } })).toMatchObject({ destroyedAt: expect.any(Date) });
    await clm.worker.drain();
    expect((await activeOf(ocn)).id).toBe(replacement.id);
  });
});
