import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcmeClient } from '@app/acme';
import type { Keystore } from '@app/keystore';
import { parseCertificateChain } from '@app/shaken';
import { AdminTokenService } from '../../apps/clm/src/auth/admin-token.service.js';
import { ManualClock } from '../../apps/clm/src/common/clock.js';
import { KEYSTORE } from '../../apps/clm/src/config/config.module.js';
import { ExpiryWarnings } from '../../apps/clm/src/monitoring/expiry-warnings.js';
import { SpcTokenWatch } from '../../apps/clm/src/monitoring/spc-token-watch.js';
import { StiPaCaListMonitor } from '../../apps/clm/src/monitoring/sti-pa-ca-list-monitor.js';
import { CRL_REFRESH_MS, StiPaCrlMonitor } from '../../apps/clm/src/monitoring/sti-pa-crl-monitor.js';
import { openKeyPair } from '../../apps/clm/src/procurement/key-material.js';
import { RENEWAL_RETRY_AFTER_FAILURE_MS, RenewalScheduler } from '../../apps/clm/src/renewal/renewal-scheduler.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { onboardProvider, registerSandboxStiCa, sandboxStiPaUser, testAdmin } from '../support/factories.js';
import { LoopbackStiCrPublisher } from '../support/loopback-sti-cr-publisher.js';
import { startProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const DAY = 86_400_000;
/** The sandbox runs behind the service's manual clock, so nothing it dates is in the service's future. */
const SANDBOX_LAG_MS = 5 * 60_000;

describe('monitoring: STI-PA CRL and CA list, SPC tokens, expiry warnings (integration)', () => {
  let sandbox: SandboxProcess;
  let publisher: LoopbackStiCrPublisher;
  let db: TestDatabase;
  let clm: ProcurementApp;
  let clock: ManualClock;
  let token: string;

  async function moveTo(at: Date): Promise<void> {
    clock.set(at);
    await sandbox.adminApi('POST', '/clock', { offsetMs: clock.now().getTime() - Date.now() - SANDBOX_LAG_MS });
  }

  async function http(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, body?: unknown) {
    const res = await clm.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : undefined };
  }

  /** A provider with an active certificate from the sandbox, and a webhook catching every event. */
  async function activeCertificate() {
    const onboarded = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const started = await clm.procurement.requestCertificate({ providerId: onboarded.provider.id, ocn: onboarded.ocns[0]!, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();
    const view = await clm.certificates.get(started.certificateId);
    expect(view.state).toBe('active');
    return { ...onboarded, ocn: onboarded.ocns[0]!, stiCaId: ca.id, certificate: view };
  }

  /**
   * The certificate revoked at the CA behind our back (by its own key, RFC 8555 §7.6), so only
   * the STI-PA CRL tells us. Returns its key id.
   */
  async function revokeAtCaBehindOurBack(certificateId: string, reason: number): Promise<string> {
    const row = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: certificateId }, include: { key: true } });
    const certificateKey = await openKeyPair(clm.app.get<Keystore>(KEYSTORE), row.key);
    const acme = new AcmeClient({ directoryUrl: sandbox.acmeDirectory, accountKey: certificateKey, transport: { trustedCaPem: sandbox.tlsRootPem } });
    try {
      await acme.revokeCertificate(new Uint8Array(parseCertificateChain(row.chainPem!)[0]!.rawData), { reason, certificateKey });
    } finally {
      await acme.close();
    }
    return row.keyId;
  }

  const payloads = async (type: string) =>
    (await clm.prisma.webhookDelivery.findMany({ where: { event: type }, orderBy: { createdAt: 'asc' } })).map((d) => d.payload as { subject: { id: string }; data: Record<string, unknown> });

  beforeAll(async () => {
    [sandbox, publisher] = await Promise.all([startSandboxProcess(), LoopbackStiCrPublisher.start()]);
  });
  afterAll(async () => {
    await publisher?.close();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    clock = new ManualClock(new Date(Date.now() + 2 * SANDBOX_LAG_MS));
    await moveTo(clock.now());
    db = await createTestDatabase();
    clm = await startProcurementApp({ db, sandbox, publisher, clock });
    token = (await clm.app.get(AdminTokenService).create('monitoring test', 'compliance', testAdmin())).token;
    expect((await http('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/unused', events: ['*'] })).status).toBe(201);
  });
  afterEach(async () => {
    await sandbox.adminApi('DELETE', '/faults');
    await clm?.close();
    await db?.drop();
  });

  it('finds our certificate on the verified STI-PA CRL, marks it revoked and alerts once; refreshes every 12 h', async () => {
    const { certificate } = await activeCertificate();
    const other = await activeCertificate();
    const crl = clm.app.get(StiPaCrlMonitor);

    const first = await crl.refreshDue();
    expect(first).toEqual([expect.objectContaining({ ok: true, signatureVerified: true, newlyRevoked: 0 })]);
    expect(await crl.refreshDue()).toEqual([]);

    const revokedKeyId = await revokeAtCaBehindOurBack(certificate.id, 1);

    // Not due yet: the stored CRL is less than 12 h old.
    await moveTo(new Date(clock.now().getTime() + CRL_REFRESH_MS - 60_000));
    expect(await crl.refreshDue()).toEqual([]);
    await moveTo(new Date(clock.now().getTime() + 60_000));
    const second = await crl.refreshDue();
    expect(second).toEqual([expect.objectContaining({ ok: true, signatureVerified: true, newlyRevoked: 1, revokedEntries: 1 })]);

    const revoked = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: certificate.id } });
    expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await clm.certificates.get(other.certificate.id)).state).toBe('active');
    const alerts = await payloads('certificate.revoked');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ subject: { id: certificate.id }, data: { source: 'sti_pa_crl', reason: 'keyCompromise', revokedCertificate: 'leaf', wasActive: true } });
    // The OCN is not left dark: a renewal with a new key was started, and the alert names it.
    const replacement = await clm.prisma.certificate.findFirstOrThrow({ where: { renewedFromId: certificate.id }, include: { order: true } });
    expect(replacement.order).toMatchObject({ kind: 'renew' });
    expect(replacement.keyId).not.toBe(revokedKeyId);
    expect(alerts[0]!.data.replacement).toEqual({ certificateId: replacement.id });
    await clm.worker.drain();
    expect((await clm.certificates.get(replacement.id)).state).toBe('active');

    // Asking again finds nothing new: one alert per revocation.
    expect(await crl.refreshDue({ force: true })).toEqual([expect.objectContaining({ newlyRevoked: 0 })]);
    expect(await payloads('certificate.revoked')).toHaveLength(1);
    const status = await http('GET', '/api/v1/monitoring/sti-pa');
    expect(status.json!.crls).toEqual([expect.objectContaining({ issuer: expect.stringContaining('CN=STI-PA CRL'), revokedCount: 1, signatureVerified: true, lastError: null })]);
  });

  it('retires a key the CRL lists as keyCompromise as an operator revocation does: replacement first, then the same-key sibling revoked at the CA and the key destroyed', async () => {
    const { certificate: first, ocn } = await activeCertificate();
    const crl = clm.app.get(StiPaCrlMonitor);
    // Key rotation `never`: the renewal reuses the key, and the first certificate, superseded, still verifies.
    expect((await http('PATCH', `/api/v1/certificates/${first.id}/renewal-policy`, { keyRotation: 'never' })).status).toBe(200);
    const second = (await http('POST', `/api/v1/certificates/${first.id}/renew`, {})).json!.id as string;
    await clm.worker.drain();
    expect((await clm.certificates.get(first.id)).state).toBe('superseded');
    const keyId = await revokeAtCaBehindOurBack(second, 1);
    expect((await clm.prisma.certificate.findUniqueOrThrow({ where: { id: first.id } })).keyId).toBe(keyId);

    expect(await crl.refreshDue({ force: true })).toEqual([expect.objectContaining({ ok: true, newlyRevoked: 1 })]);
    expect(await clm.prisma.certificate.findUniqueOrThrow({ where: { id: second } })).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const replacement = await clm.prisma.certificate.findFirstOrThrow({ where: { renewedFromId: second } });
    expect(replacement.keyId).not.toBe(keyId);
    // The sibling with the same key: revoked at the CA (on the STI-PA CRL now), as RFC 5280 §5.3.1 asks.
    const sibling = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: first.id } });
    expect(sibling).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await sandbox.adminApi<{ stiPa: { crl: { revokedSerials: string[] } } }>('GET', '/state')).stiPa.crl.revokedSerials).toContain(sibling.serial);
    expect(await payloads('certificate.revoked')).toEqual([
      expect.objectContaining({ subject: expect.objectContaining({ id: second }), data: expect.objectContaining({ source: 'sti_pa_crl' }) }),
      expect.objectContaining({ subject: expect.objectContaining({ id: first.id }), data: expect.objectContaining({ source: 'acme_same_key', reason: 'keyCompromise' }) }),
    ]);
    // The key is destroyed: nothing hands it to a signer or reuses it again.
    expect(await clm.prisma.privateKey.findUniqueOrThrow({ where: { id: keyId } })).toMatchObject({ destroyedAt: expect.any(Date), sealed: null });
    await clm.worker.drain();
    expect((await clm.certificates.get(replacement.id)).state).toBe('active');
    expect(await clm.prisma.certificate.count({ where: { ocn: { code: ocn }, status: 'active' } })).toBe(1);
  });

  it('retries the replacement of a CRL-revoked active certificate that failed, a day later, with a new key, until the OCN has one again', async () => {
    const { certificate, ocn } = await activeCertificate();
    const crl = clm.app.get(StiPaCrlMonitor);
    const renewals = clm.app.get(RenewalScheduler);
    const activeOfOcn = () => clm.prisma.certificate.findMany({ where: { ocn: { code: ocn }, status: 'active' }, select: { id: true } });
    // Key rotation `never` and a reason that does not retire the key: only the revocation itself
    // makes the retry take a new key.
    expect((await http('PATCH', `/api/v1/certificates/${certificate.id}/renewal-policy`, { keyRotation: 'never' })).status).toBe(200);
    const revokedKeyId = await revokeAtCaBehindOurBack(certificate.id, 5);

    // The STI-CA turns every tkauth-01 challenge invalid: the replacement the CRL monitor starts fails.
    await sandbox.adminApi('POST', '/faults', { refuseChallenges: 1000 });
    expect(await crl.refreshDue({ force: true })).toEqual([expect.objectContaining({ ok: true, newlyRevoked: 1 })]);
    expect(await clm.prisma.certificate.findUniqueOrThrow({ where: { id: certificate.id } })).toMatchObject({ status: 'revoked', revocationReason: 'cessationOfOperation' });
    const failed = await clm.prisma.certificate.findFirstOrThrow({ where: { renewedFromId: certificate.id } });
    await clm.worker.drain();
    expect(await clm.certificates.get(failed.id)).toMatchObject({ state: 'failed', order: { state: 'failed', lastErrorCode: 'ACME.CHALLENGE_INVALID' } });
    expect(await activeOfOcn()).toEqual([]);

    // Reported once; not retried within the retry window, however often the scan runs.
    expect(await renewals.scan()).toMatchObject({ due: 0, started: 0, failuresReported: 1 });
    expect(await payloads('certificate.renewal_failed')).toEqual([
      expect.objectContaining({ subject: { type: 'certificate', id: certificate.id }, data: expect.objectContaining({ renewalId: failed.id, renewedCertificateState: 'revoked' }) }),
    ]);
    const failedAt = clock.now().getTime();
    await moveTo(new Date(failedAt + RENEWAL_RETRY_AFTER_FAILURE_MS - 60_000));
    expect(await renewals.scan()).toMatchObject({ due: 0, started: 0 });

    // The CA issues again and the window has passed: the scan starts a new replacement, with a new key.
    await sandbox.adminApi('DELETE', '/faults');
    await moveTo(new Date(failedAt + RENEWAL_RETRY_AFTER_FAILURE_MS + 60_000));
    expect(await renewals.scan()).toMatchObject({ due: 1, started: 1, refused: 0, errors: 0 });
    const retry = await clm.prisma.certificate.findFirstOrThrow({ where: { renewedFromId: certificate.id, id: { not: failed.id } }, include: { order: true } });
    expect(retry.order).toMatchObject({ kind: 'renew' });
    expect(retry.keyId).not.toBe(revokedKeyId);
    expect(retry.keyId).not.toBe(failed.keyId);
    // In flight: the next scan starts nothing more.
    expect(await renewals.scan()).toMatchObject({ due: 0, started: 0 });
    await clm.worker.drain();
    expect((await clm.certificates.get(retry.id)).state).toBe('active');
    expect(await activeOfOcn()).toEqual([{ id: retry.id }]);
    expect((await clm.certificates.get(certificate.id)).state).toBe('revoked');
    // The OCN has its certificate again: nothing left to do.
    await moveTo(new Date(clock.now().getTime() + RENEWAL_RETRY_AFTER_FAILURE_MS + 60_000));
    expect(await renewals.scan()).toMatchObject({ due: 0, started: 0 });
  });

  it('does not replace the active certificate an operator revoked without replace, even once the CRL lists it', async () => {
    const { certificate, ocn } = await activeCertificate();
    const revoked = await http('POST', `/api/v1/certificates/${certificate.id}/revoke`, { reason: 'cessationOfOperation' });
    expect(revoked.json).toMatchObject({ state: 'revoked', notice: expect.stringContaining(`OCN ${ocn} has no active certificate now`) });
    // The CRL lists its serial now; the monitor leaves a certificate already revoked as it is.
    const { serial } = await clm.prisma.certificate.findUniqueOrThrow({ where: { id: certificate.id } });
    const state = await sandbox.adminApi<{ stiPa: { crl: { revokedSerials: string[] } } }>('GET', '/state');
    expect(state.stiPa.crl.revokedSerials).toContain(serial);
    expect(await clm.app.get(StiPaCrlMonitor).refreshDue({ force: true })).toEqual([expect.objectContaining({ ok: true, newlyRevoked: 0 })]);

    const renewals = clm.app.get(RenewalScheduler);
    for (const at of [clock.now().getTime(), clock.now().getTime() + RENEWAL_RETRY_AFTER_FAILURE_MS + 60_000]) {
      await moveTo(new Date(at));
      expect(await renewals.scan()).toMatchObject({ due: 0, started: 0 });
    }
    expect(await clm.prisma.certificate.count({ where: { renewedFromId: certificate.id } })).toBe(0);
    expect(await clm.prisma.certificate.count({ where: { ocn: { code: ocn }, status: 'active' } })).toBe(0);
  });

  it('marks every certificate issued by a revoked STI-CA intermediate revoked, and notes the root leaving the CA list', async () => {
    const a = await activeCertificate();
    const b = await activeCertificate();
    const caList = clm.app.get(StiPaCaListMonitor);
    expect(await caList.refreshDue()).toEqual([expect.objectContaining({ ok: true, trustListSize: 1, removed: 0, activeUntrusted: 0 })]);
    const firstSequence = (await clm.prisma.stiPaCaListSnapshot.findFirstOrThrow()).sequence;

    await sandbox.adminApi('POST', '/faults', { revokedCa: true });
    const [crlResult] = await clm.app.get(StiPaCrlMonitor).refreshDue({ force: true });
    expect(crlResult).toMatchObject({ ok: true, newlyRevoked: 2 });
    for (const id of [a.certificate.id, b.certificate.id]) {
      expect(await clm.prisma.certificate.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'revoked', revocationReason: 'cACompromise' });
    }
    expect((await payloads('certificate.revoked')).map((p) => p.data.revokedCertificate)).toEqual(['issuer', 'issuer']);

    const [listResult] = await caList.refreshDue({ force: true });
    expect(listResult).toMatchObject({ ok: true, trustListSize: 0, removed: 1 });
    const audit = await clm.prisma.auditEvent.findFirstOrThrow({ where: { action: 'sti_pa.ca_list_updated' }, orderBy: { id: 'desc' } });
    expect(audit.details).toMatchObject({ previousSequence: firstSequence, trustListSize: 0, removed: [expect.stringContaining('SHAKEN')] });
  });

  it('fetches a token ahead of a renewal, flags an OCN the STI-PA refuses (one event), and clears the flag when tokens come again', async () => {
    const { provider, ocn, certificate, stiPaUser } = await activeCertificate();
    const watch = clm.app.get(SpcTokenWatch);

    // Far from renewal, with a stored token: nothing to do.
    expect(await watch.run()).toEqual({ expiredTokens: 0, probed: 0, ok: 0, refused: 0, failing: 0 });

    // A week before renewAt the order's token has long expired: a fresh one is fetched and kept.
    await moveTo(new Date(new Date(certificate.renewAt!).getTime() - 6 * DAY));
    expect(await watch.run()).toEqual({ expiredTokens: 1, probed: 1, ok: 1, refused: 0, failing: 0 });
    expect(await clm.prisma.spcToken.count({ where: { providerId: provider.id, status: 'valid' } })).toBe(1);
    expect(await watch.run()).toMatchObject({ probed: 0 });

    // The API user loses the OCN at the STI-PA (another user without it): refused, flagged, one event.
    const stranger = await sandboxStiPaUser(sandbox, ['ZZ99']);
    await http('PUT', `/api/v1/providers/${provider.id}/sti-pa-account`, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...stranger });
    await moveTo(new Date(clock.now().getTime() + 4 * DAY));
    expect(await watch.run()).toMatchObject({ probed: 1, refused: 1 });
    const flagged = (await http('GET', `/api/v1/providers/${provider.id}`)).json!;
    expect(flagged.tokenRefusals).toEqual([expect.objectContaining({ ocn, code: 'STI_PA.FORBIDDEN_OCN', reason: expect.stringContaining(ocn) })]);
    const refusals = await payloads('provider.token_refused');
    expect(refusals).toEqual([expect.objectContaining({ subject: { type: 'provider', id: provider.id }, data: expect.objectContaining({ ocn, code: 'STI_PA.FORBIDDEN_OCN' }) })]);

    // Rechecked once a day, not every run; a second refusal is not a second event.
    expect(await watch.run()).toMatchObject({ probed: 0 });
    await moveTo(new Date(clock.now().getTime() + DAY));
    expect(await watch.run()).toMatchObject({ probed: 1, refused: 1 });
    expect(await payloads('provider.token_refused')).toHaveLength(1);

    // The right API user again: the next daily check gets a token and clears the flag.
    await http('PUT', `/api/v1/providers/${provider.id}/sti-pa-account`, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...stiPaUser });
    await moveTo(new Date(clock.now().getTime() + DAY));
    expect(await watch.run()).toMatchObject({ probed: 1, ok: 1 });
    expect((await http('GET', `/api/v1/providers/${provider.id}`)).json!.tokenRefusals).toEqual([]);
  });

  it('warns at 30, 14, 7 and 1 days before notAfter, once each, only the tightest threshold crossed', async () => {
    const { certificate } = await activeCertificate();
    const warnings = clm.app.get(ExpiryWarnings);
    const notAfter = new Date(certificate.notAfter!).getTime();

    await moveTo(new Date(notAfter - 30 * DAY - 60_000));
    expect(await warnings.run()).toEqual({ warned: 0 });
    await moveTo(new Date(notAfter - 30 * DAY));
    expect(await warnings.run()).toEqual({ warned: 1 });
    expect(await warnings.run()).toEqual({ warned: 0 });
    // Down for a week past the 14-day mark: the 7-day warning only.
    await moveTo(new Date(notAfter - 6 * DAY));
    expect(await warnings.run()).toEqual({ warned: 1 });
    await moveTo(new Date(notAfter - 12 * 3_600_000));
    expect(await warnings.run()).toEqual({ warned: 1 });
    expect(await warnings.run()).toEqual({ warned: 0 });

    const sent = await payloads('certificate.expiring');
    expect(sent.map((p) => p.data.thresholdDays)).toEqual([30, 7, 1]);
    expect(sent.map((p) => p.data.daysLeft)).toEqual([30, 6, 0]);
    expect(sent.every((p) => p.subject.id === certificate.id)).toBe(true);
  });
});
