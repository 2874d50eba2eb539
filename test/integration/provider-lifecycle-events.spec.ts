import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminTokenService } from '../../apps/clm/src/auth/admin-token.service.js';
import { SpcTokenProbe } from '../../apps/clm/src/monitoring/spc-token-probe.js';
import { SpcTokenWatch } from '../../apps/clm/src/monitoring/spc-token-watch.js';
import { runCli } from '../support/clm-cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freshOcn, onboardProvider, registerSandboxStiCa, sandboxStiPaUser, testAdmin } from '../support/factories.js';
import { LoopbackStiCrPublisher } from '../support/loopback-sti-cr-publisher.js';
import { ShiftedClock, startProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

interface Answer {
  status: number;
  text: string;
  etag: string | null;
  json: Record<string, unknown> & { code?: string; status?: number };
}

type ReadinessItems = Record<string, { status: string; reason: string; nextStep: string | null }>;
type TokenRefusals = { ocn: string; at: string; code: string | null; reason: string | null }[];

/**
 * Provider-level lifecycle transitions and the events they send, against the real service
 * (AppModule in-process, served on a loopback port so the `clm` CLI and signers talk real HTTP),
 * its own database and a real sandbox process that issues the certificates.
 */
describe('provider and certificate lifecycle events: signing suspension, certificate.issued, token refusals (integration)', () => {
  let sandbox: SandboxProcess;
  let publisher: LoopbackStiCrPublisher;
  let db: TestDatabase;
  let clm: ProcurementApp;
  let baseUrl: string;
  let admin: { server: string; token: string };
  let clock: ShiftedClock;
  /** Subscribed to every event: its outbox rows are what receivers would get. */
  let everything: string;

  /** Moves the service's clock (to walk through backoff) and the sandbox's with it, a little behind, as monitoring-sti-pa does. */
  async function advanceTo(at: Date): Promise<void> {
    clock.advanceTo(at);
    await sandbox.adminApi('POST', '/clock', { offsetMs: clock.now().getTime() - Date.now() - 5 * 60_000 });
  }

  const outbox = async (type: string, subjectId: string) =>
    (await clm.prisma.webhookDelivery.findMany({ where: { webhookId: everything, event: type }, orderBy: { createdAt: 'asc' } }))
      .map((d) => d.payload as { type: string; subject: { type: string; id: string }; data: Record<string, unknown> })
      .filter((p) => p.subject.id === subjectId);

  async function call(method: string, path: string, init: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${init.token ?? admin.token}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, etag: res.headers.get('etag'), json: (text ? JSON.parse(text) : {}) as Answer['json'] };
  }

  /** A provider with an active certificate from the sandbox, and a signer scoped to its OCN. */
  async function activeWithSigner() {
    const onboarded = await onboardProvider(clm, sandbox);
    const ocn = onboarded.ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const started = await clm.procurement.requestCertificate({ providerId: onboarded.provider.id, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();
    expect((await clm.certificates.get(started.certificateId)).state).toBe('active');
    const signer = await call('POST', '/api/v1/signers', { body: { name: `sbc-${ocn}`, ocns: [ocn] } });
    expect(signer.status).toBe(201);
    return { providerId: onboarded.provider.id, ocn, certificateId: started.certificateId, credential: signer.json.credential as string };
  }

  beforeAll(async () => {
    [sandbox, publisher, db] = await Promise.all([startSandboxProcess(), LoopbackStiCrPublisher.start(), createTestDatabase()]);
    clock = new ShiftedClock();
    clm = await startProcurementApp({ db, sandbox, publisher, clock });
    await clm.app.listen(0, '127.0.0.1');
    baseUrl = (await clm.app.getUrl()).replace('[::1]', '127.0.0.1');
    admin = { server: baseUrl, token: (await clm.app.get(AdminTokenService).create('provider lifecycle test', 'compliance', testAdmin())).token };
    const hook = await call('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/everything', events: ['*'] } });
    expect(hook.status).toBe(201);
    everything = hook.json.id as string;
  });
  afterAll(async () => {
    await clm?.close();
    await db?.drop();
    await publisher?.close();
    await sandbox?.stop();
  });

  it('suspend-signing (CLI, audited, webhook) ends a parked long-poll with 403 at once and refuses pull and signing; resume-signing serves again', async () => {
    const target = await activeWithSigner();
    const pull = (query = '', headers: Record<string, string> = {}) => call('GET', `/signer/v1/credentials/${target.ocn}${query}`, { token: target.credential, headers });
    const first = await pull();
    expect(first.status).toBe(200);
    const etag = first.etag!;
    const hook = await call('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/suspensions', events: ['provider.signing_suspended', 'provider.signing_resumed'] } });
    expect(hook.status).toBe(201);
    const reason = 'SPC token revoked by the STI-GA (FCC 21-93)';

    // A signer waiting for a rotation is parked on the OCN when the suspension commits.
    const parked = pull('?wait=30', { 'if-none-match': etag });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const suspended = await runCli(admin, 'providers', 'suspend-signing', target.providerId, '--reason', reason);
    const suspendedAt = performance.now();
    expect(suspended.code, suspended.stderr).toBe(0);
    expect(suspended.stdout).toMatch(new RegExp(`^${target.providerId}\\s.*signing suspended \\d{4}-\\d{2}-\\d{2}`, 'm'));
    expect(suspended.stderr).toContain(`clm providers resume-signing ${target.providerId}`);
    // It wakes on the NOTIFY of the providers trigger (signer_hand_off_notify) and answers the refusal.
    const woken = await parked;
    expect(performance.now() - suspendedAt).toBeLessThan(1_000);
    expect(woken.json).toMatchObject({ status: 403, code: 'SIGNER.SIGNING_SUSPENDED' });
    expect(woken.text).not.toContain('PRIVATE KEY');

    for (const query of ['', '?keyFormat=jwk', '?wait=5']) {
      const refused = await pull(query);
      expect(refused.json).toMatchObject({ status: 403, code: 'SIGNER.SIGNING_SUSPENDED' });
      expect(refused.text).not.toContain('PRIVATE KEY');
    }
    const signing = await call('POST', '/signer/v1/passports', { token: target.credential, body: { ocn: target.ocn, attest: 'A', orig: '12025550101', dest: ['12025550199'] } });
    expect(signing.json).toMatchObject({ status: 403, code: 'SIGNER.SIGNING_SUSPENDED' });

    expect((await call('GET', `/api/v1/providers/${target.providerId}`)).json.signingSuspended).toEqual({ at: expect.any(String), reason });
    expect((await call('POST', `/api/v1/providers/${target.providerId}/suspend-signing`, { body: { reason: 'twice' } })).json).toMatchObject({ status: 409, code: 'PROVIDER.SIGNING_ALREADY_SUSPENDED' });
    expect((await call('POST', `/api/v1/providers/${target.providerId}/suspend-signing`, { body: {} })).status).toBe(400);
    const auditor = (await clm.app.get(AdminTokenService).create('auditor', 'auditor', testAdmin())).token;
    expect((await call('POST', `/api/v1/providers/${target.providerId}/resume-signing`, { token: auditor })).status).toBe(403);
    const readiness = (await call('GET', `/api/v1/providers/${target.providerId}/readiness`)).json as { provider: ReadinessItems; ocns: { items: ReadinessItems }[] };
    expect(readiness.provider.signing).toMatchObject({ status: 'failing', reason: expect.stringContaining(reason), nextStep: expect.stringContaining(`clm providers resume-signing ${target.providerId}`) });
    expect(readiness.ocns[0]!.items.signing!.status).toBe('failing');

    const resumed = await runCli(admin, 'providers', 'resume-signing', target.providerId);
    expect(resumed.code, resumed.stderr).toBe(0);
    await waitFor(async () => (await pull()).status === 200, 1_000);
    expect((await pull('', { 'if-none-match': etag })).status).toBe(304);
    expect((await call('POST', `/api/v1/providers/${target.providerId}/resume-signing`)).json).toMatchObject({ status: 409, code: 'PROVIDER.SIGNING_NOT_SUSPENDED' });
    expect(((await call('GET', `/api/v1/providers/${target.providerId}/readiness`)).json as { provider: ReadinessItems }).provider.signing).toMatchObject({ status: 'ok', nextStep: null });

    const audit = await clm.prisma.auditEvent.findMany({ where: { subjectId: target.providerId, action: { startsWith: 'provider.signing_' } }, orderBy: { at: 'asc' } });
    expect(audit).toEqual([
      expect.objectContaining({ action: 'provider.signing_suspended', actorType: 'admin', details: expect.objectContaining({ reason, ocns: [target.ocn] }) }),
      expect.objectContaining({ action: 'provider.signing_resumed', actorType: 'admin', details: expect.objectContaining({ suspendedReason: reason }) }),
    ]);
    const deliveries = await clm.prisma.webhookDelivery.findMany({ where: { webhookId: hook.json.id as string }, orderBy: { createdAt: 'asc' } });
    expect(deliveries.map((d) => d.payload)).toEqual([
      expect.objectContaining({ type: 'provider.signing_suspended', subject: { type: 'provider', id: target.providerId }, data: expect.objectContaining({ reason, ocns: [target.ocn] }) }),
      expect.objectContaining({ type: 'provider.signing_resumed', subject: { type: 'provider', id: target.providerId }, data: expect.objectContaining({ suspendedReason: reason }) }),
    ]);
  });

  it('certificate.issued: queued once when the chain is downloaded (finalized → downloaded), before certificate.activated', async () => {
    const target = await activeWithSigner();
    const certificate = await clm.certificates.get(target.certificateId);
    const issued = await outbox('certificate.issued', target.certificateId);
    expect(issued).toEqual([expect.objectContaining({
      type: 'certificate.issued',
      subject: { type: 'certificate', id: target.certificateId },
      data: expect.objectContaining({ ocn: target.ocn, serial: certificate.serial, notAfter: new Date(certificate.notAfter!).toISOString(), orderKind: 'issue' }),
    })]);
    const rows = await clm.prisma.webhookDelivery.findMany({ where: { webhookId: everything, event: { in: ['certificate.issued', 'certificate.activated'] } }, orderBy: { createdAt: 'asc' } });
    expect(rows.filter((r) => (r.payload as { subject: { id: string } }).subject.id === target.certificateId).map((r) => r.event)).toEqual(['certificate.issued', 'certificate.activated']);
    expect(await clm.prisma.auditEvent.count({ where: { subjectId: target.certificateId, action: 'certificate.issued', actorType: 'system' } })).toBe(1);
  });

  it('an order refused a token by the STI-PA flags the OCN and sends provider.token_refused once per episode, shared with the token probe', async () => {
    // The API user does not hold the OCN at the STI-PA: every token request is refused (403).
    const stranger = await sandboxStiPaUser(sandbox, ['ZZ98']);
    const onboarded = await onboardProvider(clm, sandbox, { stiPaUser: stranger });
    const providerId = onboarded.provider.id;
    const ocn = onboarded.ocns[0]!;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const started = await clm.procurement.requestCertificate({ providerId, ocn, stiCaId: ca.id }, { type: 'admin', admin: testAdmin() });
    await clm.worker.drain();
    const order = await clm.prisma.certificateOrder.findUniqueOrThrow({ where: { certificateId: started.certificateId } });
    expect(order).toMatchObject({ state: 'account_ready', lastErrorCode: 'STI_PA.FORBIDDEN_OCN' });
    const [flagged] = (await call('GET', `/api/v1/providers/${providerId}`)).json.tokenRefusals as TokenRefusals;
    expect(flagged).toMatchObject({ ocn, code: 'STI_PA.FORBIDDEN_OCN', reason: expect.stringContaining(ocn) });
    expect(await outbox('provider.token_refused', providerId)).toEqual([
      expect.objectContaining({ subject: { type: 'provider', id: providerId }, data: expect.objectContaining({ ocn, code: 'STI_PA.FORBIDDEN_OCN' }) }),
    ]);
    expect(await clm.prisma.auditEvent.findMany({ where: { subjectId: providerId, action: 'provider.token_refused' } })).toEqual([
      expect.objectContaining({ actorType: 'system', actorId: 'procurement' }),
    ]);

    // The retry after its backoff is refused again, and so is the token job's probe: same episode, no new event.
    await advanceTo(new Date(order.nextAttemptAt.getTime() + 1_000));
    await clm.worker.drain();
    expect((await clm.prisma.certificateOrder.findUniqueOrThrow({ where: { id: order.id } })).attempts).toBe(2);
    expect(await clm.app.get(SpcTokenProbe).probe(providerId, ocn, { reuseStored: false })).toMatchObject({ status: 'failing', refused: true });
    expect(await outbox('provider.token_refused', providerId)).toHaveLength(1);
    const [refreshed] = (await call('GET', `/api/v1/providers/${providerId}`)).json.tokenRefusals as TokenRefusals;
    expect(new Date(refreshed!.at).getTime()).toBeGreaterThan(new Date(flagged!.at).getTime());
    // Readiness shows the refusal as failing. Flagging is not suspending: signing is untouched.
    const readiness = (await call('GET', `/api/v1/providers/${providerId}/readiness`)).json as { provider: ReadinessItems; ocns: { items: ReadinessItems }[] };
    expect(readiness.ocns[0]!.items.spcToken).toMatchObject({ status: 'failing', reason: expect.stringContaining('the STI-PA refused a token') });
    expect(readiness.provider.signing!.status).toBe('ok');

    // The right API user: the retry gets a token, which ends the episode; a later refusal is news again.
    await call('PUT', `/api/v1/providers/${providerId}/sti-pa-account`, { body: { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...(await sandboxStiPaUser(sandbox, [ocn])) } });
    await advanceTo(new Date((await clm.prisma.certificateOrder.findUniqueOrThrow({ where: { id: order.id } })).nextAttemptAt.getTime() + 1_000));
    await clm.worker.drain();
    expect((await clm.certificates.get(started.certificateId)).state).toBe('active');
    expect((await call('GET', `/api/v1/providers/${providerId}`)).json.tokenRefusals).toEqual([]);
    expect(await clm.prisma.auditEvent.count({ where: { subjectId: providerId, action: 'provider.token_refusal_cleared', actorId: 'procurement' } })).toBe(1);
    await call('PUT', `/api/v1/providers/${providerId}/sti-pa-account`, { body: { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...stranger } });
    expect(await clm.app.get(SpcTokenProbe).probe(providerId, ocn, { reuseStored: false })).toMatchObject({ status: 'failing', refused: true });
    expect(await outbox('provider.token_refused', providerId)).toHaveLength(2);
  });

  it('readiness: an OCN flagged as refused is not answered from a stored token, and shows its last refusal until the recheck window has passed', async () => {
    const target = await activeWithSigner();
    expect(await clm.prisma.spcToken.count({ where: { providerId: target.providerId, status: 'valid' } })).toBe(1);
    await call('PUT', `/api/v1/providers/${target.providerId}/sti-pa-account`, { body: { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...(await sandboxStiPaUser(sandbox, ['ZZ97'])) } });
    expect(await clm.app.get(SpcTokenProbe).probe(target.providerId, target.ocn, { reuseStored: false })).toMatchObject({ status: 'failing', refused: true });
    const refusedAt = async () => (await clm.prisma.ocn.findUniqueOrThrow({ where: { code: target.ocn } })).tokenRefusedAt!.getTime();
    const asked = await refusedAt();
    const spcToken = async () => ((await call('GET', `/api/v1/providers/${target.providerId}/readiness`)).json as { ocns: { items: ReadinessItems }[] }).ocns[0]!.items.spcToken;

    // Within the window every GET shows the last refusal without asking the STI-PA (a probe's refusal would move tokenRefusedAt).
    for (let i = 0; i < 3; i += 1) expect(await spcToken()).toMatchObject({ status: 'failing', reason: expect.stringContaining('STI_PA.FORBIDDEN_OCN') });
    expect(await refusedAt()).toBe(asked);

    // Past it, readiness asks afresh: refused again (same episode), the flag's clock moves.
    await advanceTo(new Date(asked + 24 * 3_600_000 + 1_000));
    expect(await spcToken()).toMatchObject({ status: 'failing', reason: expect.stringContaining('STI_PA.FORBIDDEN_OCN') });
    expect(await refusedAt()).toBeGreaterThan(asked);
    expect(await outbox('provider.token_refused', target.providerId)).toHaveLength(1);
  });

  it('refusals are per OCN: one provider.token_refused per OCN episode, a token for another OCN does not clear it, and the daily recheck asks each refused OCN', async () => {
    // The API user holds only `fine` at the STI-PA: `refusedA` and `refusedB` are refused (403 FORBIDDEN_OCN).
    const [fine, refusedA, refusedB] = [freshOcn(), freshOcn(), freshOcn()] as const;
    const onboarded = await onboardProvider(clm, sandbox, { ocns: [fine, refusedA, refusedB], stiPaUser: await sandboxStiPaUser(sandbox, [fine]) });
    const providerId = onboarded.provider.id;
    const ca = await registerSandboxStiCa(clm, sandbox);
    const actor = { type: 'admin' as const, admin: testAdmin() };
    const probe = clm.app.get(SpcTokenProbe);
    const refusals = async () => ((await call('GET', `/api/v1/providers/${providerId}`)).json.tokenRefusals as TokenRefusals).map((r) => r.ocn).sort();
    const refusedAt = async (ocn: string) => (await clm.prisma.ocn.findUniqueOrThrow({ where: { code: ocn } })).tokenRefusedAt?.getTime() ?? null;

    // `fine` is issued (creating the ACME account the tokens are bound to); the order for `refusedA` is refused.
    const issued = await clm.procurement.requestCertificate({ providerId, ocn: fine, stiCaId: ca.id }, actor);
    await clm.worker.drain();
    expect((await clm.certificates.get(issued.certificateId)).state).toBe('active');
    const refusedOrder = await clm.procurement.requestCertificate({ providerId, ocn: refusedA, stiCaId: ca.id }, actor);
    await clm.worker.drain();
    expect(await clm.prisma.certificateOrder.findUniqueOrThrow({ where: { certificateId: refusedOrder.certificateId } })).toMatchObject({ lastErrorCode: 'STI_PA.FORBIDDEN_OCN' });
    expect(await probe.probe(providerId, refusedB, { reuseStored: false })).toMatchObject({ status: 'failing', refused: true });
    expect(await refusals()).toEqual([refusedA, refusedB].sort());
    expect((await outbox('provider.token_refused', providerId)).map((p) => p.data.ocn).sort()).toEqual([refusedA, refusedB].sort());

    // A token for `fine` ends no other OCN's episode: refusedA stays flagged, its next refusal is no news.
    expect(await probe.probe(providerId, fine, { reuseStored: false })).toMatchObject({ status: 'ok', reused: false });
    expect(await refusals()).toEqual([refusedA, refusedB].sort());
    expect(await clm.prisma.auditEvent.count({ where: { subjectId: providerId, action: 'provider.token_refusal_cleared' } })).toBe(0);
    expect(await probe.probe(providerId, refusedA, { reuseStored: false })).toMatchObject({ status: 'failing', refused: true });
    expect(await outbox('provider.token_refused', providerId)).toHaveLength(2);

    // Readiness: `fine` ok, each refused OCN failing with its own refusal.
    const readiness = (await call('GET', `/api/v1/providers/${providerId}/readiness`)).json as { ocns: { ocn: string; items: ReadinessItems }[] };
    expect(Object.fromEntries(readiness.ocns.map((o) => [o.ocn, o.items.spcToken!.status]))).toEqual({ [fine]: 'ok', [refusedA]: 'failing', [refusedB]: 'failing' });

    // A day on, the recheck asks about every refused OCN (not only the first by code): both refused again, no new event.
    const before = { a: (await refusedAt(refusedA))!, b: (await refusedAt(refusedB))! };
    await advanceTo(new Date(Math.max(before.a, before.b) + 24 * 3_600_000 + 1_000));
    await clm.app.get(SpcTokenWatch).run();
    expect(await refusedAt(refusedA)).toBeGreaterThan(before.a);
    expect(await refusedAt(refusedB)).toBeGreaterThan(before.b);
    expect(await outbox('provider.token_refused', providerId)).toHaveLength(2);

    // The API user gets both OCNs: the next recheck clears each, audited per OCN.
    await call('PUT', `/api/v1/providers/${providerId}/sti-pa-account`, { body: { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...(await sandboxStiPaUser(sandbox, [fine, refusedA, refusedB])) } });
    await advanceTo(new Date(clock.now().getTime() + 24 * 3_600_000 + 1_000));
    await clm.app.get(SpcTokenWatch).run();
    expect(await refusals()).toEqual([]);
    const cleared = await clm.prisma.auditEvent.findMany({ where: { subjectId: providerId, action: 'provider.token_refusal_cleared' } });
    expect(cleared.map((e) => (e.details as { ocn: string }).ocn).sort()).toEqual([refusedA, refusedB].sort());
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
