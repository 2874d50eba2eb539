import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificateChain } from '@app/shaken';
import { AdminTokenService } from '../../apps/clm/src/auth/admin-token.service.js';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freshOcn, onboardProvider, registerSandboxStiCa, testAdmin } from '../support/factories.js';
import { LoopbackStiCrPublisher } from '../support/loopback-sti-cr-publisher.js';
import { startProcurementApp, type ProcurementApp } from '../support/procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const run = promisify(execFile);
const DAY = 86_400_000;

interface SandboxState { acme: { orders: { id: string; accountId: string; spc: string | null; status: string }[] } }

describe('certificate procurement against the sandbox (integration)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let publisher: LoopbackStiCrPublisher;
  let clm: ProcurementApp;
  let adminToken: string;
  const admin = { type: 'admin' as const, admin: testAdmin() };

  beforeAll(async () => {
    [db, sandbox, publisher] = await Promise.all([createTestDatabase(), startSandboxProcess(), LoopbackStiCrPublisher.start()]);
    clm = await startProcurementApp({ db, sandbox, publisher });
    adminToken = (await clm.app.get(AdminTokenService).create('procurement test', 'compliance', testAdmin())).token;
  });
  afterAll(async () => {
    await clm?.close();
    await publisher?.close();
    await sandbox?.stop();
    await db?.drop();
  });

  async function http(method: 'GET' | 'POST', url: string, body?: unknown) {
    const res = await clm.app.inject({ method, url, headers: { authorization: `Bearer ${adminToken}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : undefined };
  }

  it('takes a newly onboarded provider to an active certificate through every named step', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const posted = await http('POST', '/api/v1/certificates', { providerId: provider.id, ocn: ocns[0], stiCaId: ca.id });
    expect(posted.status).toBe(202);
    const id = posted.json!.id as string;
    expect(['requested', 'ordering']).toContain(posted.json!.state);

    await clm.worker.drain();
    const view = (await http('GET', `/api/v1/certificates/${id}`)).json as unknown as CertificateView;
    expect(view.state).toBe('active');
    expect(view.order).toMatchObject({ state: 'active', attempts: 0, lastError: null, lastErrorCode: null });
    expect(view.events!.filter((e) => e.type.startsWith('order.')).map((e) => e.type)).toEqual([
      'order.key_generated', 'order.account_ready', 'order.token_obtained', 'order.order_created', 'order.challenge_answered',
      'order.finalized', 'order.downloaded', 'order.checked', 'order.published', 'order.active',
    ]);

    // The certificate is for the key we generated and sealed, and for exactly our OCN.
    const row = await clm.prisma.certificate.findUniqueOrThrow({ where: { id }, include: { key: true } });
    const [leaf] = parseCertificateChain(row.chainPem!);
    expect(Buffer.from(leaf!.publicKey.rawData)).toEqual(Buffer.from(row.key.publicKeySpki));
    expect(row.key.purpose).toBe('certificate');
    expect(row.key.sealed).not.toBeNull();
    expect(leaf!.subject).toContain(`CN=SHAKEN ${ocns[0]}`);
    expect(view.serial).toBe(row.serial);

    // Served at x5u exactly as issued.
    expect(view.x5u).toBe(publisher.published.get(id)!.url);
    expect(await (await fetch(view.x5u!)).text()).toBe(row.chainPem);

    // One third of a 90-day life (the sandbox default) before notAfter.
    const notAfter = new Date(view.notAfter!).getTime();
    const lifetime = notAfter - new Date(view.notBefore!).getTime();
    expect(new Date(view.renewAt!).getTime()).toBe(notAfter - Math.round(lifetime / 3));
    expect(view.daysLeft).toBeGreaterThanOrEqual(89);

    // OpenSSL, as a separate real verifier, agrees the chain reaches the STI-CA root.
    const dir = mkdtempSync(join(tmpdir(), 'clm-verify-'));
    try {
      const certs = parseCertificateChain(row.chainPem!).map((c) => c.toString('pem'));
      writeFileSync(join(dir, 'leaf.pem'), `${certs[0]}\n`);
      writeFileSync(join(dir, 'chain.pem'), `${certs.slice(1).join('\n')}\n`);
      writeFileSync(join(dir, 'root.pem'), sandbox.stiCaRootPem);
      const { stdout } = await run('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')]);
      expect(stdout).toContain('leaf.pem: OK');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Every change is in the audit log, attributed.
    const audit = await clm.prisma.auditEvent.findMany({ where: { subjectType: 'certificate', subjectId: id }, orderBy: { id: 'asc' } });
    expect(audit[0]).toMatchObject({ action: 'certificate.requested', actorType: 'admin' });
    expect(audit.filter((a) => a.action === 'certificate_order.advanced')).toHaveLength(9);
    expect(audit.filter((a) => a.action === 'certificate_order.advanced').every((a) => a.actorType === 'system' && a.actorId === 'procurement')).toBe(true);
    expect(audit.filter((a) => a.action === 'certificate.activated')).toHaveLength(1);

    // Exactly one ACME order for it at the CA, now valid.
    const state = await sandbox.adminApi<SandboxState>('GET', '/state');
    expect(state.acme.orders.filter((o) => o.spc === ocns[0]).map((o) => o.status)).toEqual(['valid']);
  });

  it('activates a second certificate for the OCN in one step: the first becomes superseded, the account and token are reused', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox, { renewBeforeDays: 21 });
    const first = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    const second = await clm.procurement.requestRenewal(first.certificateId, admin);
    await clm.worker.drain();

    const [a, b] = await Promise.all([clm.certificates.get(first.certificateId), clm.certificates.get(second.certificateId)]);
    expect(a.state).toBe('superseded');
    expect(a.supersededAt).not.toBeNull();
    expect(b).toMatchObject({ state: 'active', renewedFromId: a.id });
    expect(new Date(b.notAfter!).getTime() - new Date(b.renewAt!).getTime()).toBe(21 * DAY);
    expect(await clm.prisma.certificate.count({ where: { ocn: { code: ocns[0] }, status: 'active' } })).toBe(1);
    // Key rotation `always` (the default): a new key.
    const rows = await clm.prisma.certificate.findMany({ where: { id: { in: [a.id, b.id] } } });
    expect(new Set(rows.map((r) => r.keyId)).size).toBe(2);
    expect(await clm.prisma.acmeAccount.count({ where: { providerId: provider.id } })).toBe(1);
    // The stored SPC token was still valid: reused, not asked for again.
    expect(await clm.prisma.spcToken.count({ where: { providerId: provider.id } })).toBe(1);
    expect(b.events!.find((e) => e.type === 'order.token_obtained')?.details).toMatchObject({ reused: true });
  });

  it('refuses requests it cannot fulfil, each with its own code', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const other = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const noAccount = await clm.providers.create({ legalName: 'No Account LLC', frn: '0000000042', contactEmail: 'x@example.net' }, testAdmin());
    const bare = freshOcn();
    await clm.providers.addOcn(noAccount.id, { ocn: bare }, testAdmin());
    const unknownId = '00000000-0000-4000-8000-000000000000';

    const cases: [unknown, number, string][] = [
      [{ providerId: unknownId, ocn: ocns[0], stiCaId: ca.id }, 404, 'PROVIDER.NOT_FOUND'],
      [{ providerId: provider.id, ocn: 'ZZZ9', stiCaId: ca.id }, 404, 'OCN.NOT_FOUND'],
      [{ providerId: provider.id, ocn: ocns[0], stiCaId: unknownId }, 404, 'STI_CA.NOT_FOUND'],
      [{ providerId: provider.id, ocn: other.ocns[0], stiCaId: ca.id }, 409, 'OCN.BELONGS_TO_OTHER_PROVIDER'],
      [{ providerId: noAccount.id, ocn: bare, stiCaId: ca.id }, 422, 'PROVIDER.STI_PA_ACCOUNT_MISSING'],
      [{ providerId: provider.id, ocn: 'abcd', stiCaId: ca.id }, 400, 'REQUEST.INVALID'],
      [{ providerId: provider.id, ocn: ocns[0], stiCaId: ca.id, validityDays: 0 }, 400, 'REQUEST.INVALID'],
      [{ providerId: provider.id, ocn: ocns[0], stiCaId: ca.id, keyRotation: 'never' }, 400, 'REQUEST.INVALID'],
    ];
    for (const [body, status, code] of cases) {
      const res = await http('POST', '/api/v1/certificates', body);
      expect({ body, status: res.status, code: res.json?.code }).toEqual({ body, status, code });
    }

    const accepted = await http('POST', '/api/v1/certificates', { providerId: provider.id, ocn: ocns[0], stiCaId: ca.id });
    expect(accepted.status).toBe(202);
    const again = await http('POST', '/api/v1/certificates', { providerId: provider.id, ocn: ocns[0], stiCaId: ca.id });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'CERTIFICATE.ORDER_IN_FLIGHT', certificateId: accepted.json!.id });
    // Nothing was created by the refused requests: one certificate, one certificate key.
    expect(await clm.prisma.certificate.count({ where: { providerId: provider.id } })).toBe(1);
    await clm.worker.drain();
  });

  it('lists certificates by OCN and state, and shows one with its events', async () => {
    const { provider, ocns } = await onboardProvider(clm, sandbox);
    const ca = await registerSandboxStiCa(clm, sandbox);
    const started = await clm.procurement.requestCertificate({ providerId: provider.id, ocn: ocns[0]!, stiCaId: ca.id }, admin);
    await clm.worker.drain();
    const byOcn = await http('GET', `/api/v1/certificates?ocn=${ocns[0]}`);
    expect((byOcn.json as unknown as CertificateView[]).map((c) => c.id)).toEqual([started.certificateId]);
    const active = (await http('GET', `/api/v1/certificates?ocn=${ocns[0]}&state=active`)).json as unknown as CertificateView[];
    expect(active).toHaveLength(1);
    expect(active[0]!.events).toBeUndefined();
    expect((await http('GET', `/api/v1/certificates?ocn=${ocns[0]}&state=failed`)).json).toEqual([]);
    expect((await http('GET', '/api/v1/certificates?state=bogus')).status).toBe(400);
    expect((await http('GET', '/api/v1/certificates/not-a-uuid')).status).toBe(400);
    expect((await http('GET', '/api/v1/certificates/00000000-0000-4000-8000-000000000000')).json).toMatchObject({ code: 'CERTIFICATE.NOT_FOUND' });
  });
});
