import 'reflect-metadata';
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStiCr, parseIdentityHeader, stiCrDispatcher, verifyPassport } from '@app/shaken';
import type { Agent } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { HandOutAudit } from '../../apps/clm/src/signers/hand-out-audit.js';
import type { SignerView } from '../../apps/clm/src/signers/signer-clients.service.js';
import { startPublishingApp, type PublishingApp } from '../support/publishing-app.js';
import { type IssuedTestCertificate, TestStiCa } from '../support/shaken-test-ca.js';

const run = promisify(execFile);

interface Problem {
  status: number;
  code: string;
  detail: string;
  correlationId: string;
  instance: string;
}

interface CredentialBody {
  ocn: string;
  certificateId: string;
  x5u: string;
  notBefore: string;
  notAfter: string;
  certificateChainPem: string;
  keyFormat: string;
  privateKeyPem?: string;
  privateKeyJwk?: Record<string, string>;
}

interface Answer<T> {
  status: number;
  headers: Headers;
  json: T;
  text: string;
}

interface Active {
  providerId: string;
  ocn: string;
  stiCaId: string;
  certificateId: string;
  x5u: string;
  issued: IssuedTestCertificate;
}

/**
 * The signer hand-off against the real service in-process (its own database, real HTTP on
 * loopback), with certificates brought to `active` through the lifecycle: issued by a test
 * STI-CA (@app/shaken issuance helpers), imported over the admin API, published by the worker to
 * the filesystem STI-CR served over HTTPS on loopback:8443, then activated.
 */
describe('signer hand-off (integration)', () => {
  let app: PublishingApp;
  let ca: TestStiCa;
  let baseUrl: string;
  let dispatcher: Agent;

  beforeAll(async () => {
    app = await startPublishingApp();
    ca = await TestStiCa.fromSandbox(app.sandbox);
    baseUrl = (await app.clm.app.getUrl()).replace('[::1]', '127.0.0.1');
    dispatcher = stiCrDispatcher({ caPem: app.listener!.tlsRootPem! });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await app?.close();
  });

  /** A certificate for `target` (default: a new provider and OCN), imported and activated through the lifecycle. */
  async function activate(target?: { providerId: string; ocn: string; stiCaId: string }): Promise<Active> {
    const where = target ?? (await app.onboard());
    const issued = await ca.issue(where.ocn);
    const posted = await app.api<{ certificate: CertificateView }>('POST', '/api/v1/certificates/import', {
      providerId: where.providerId, ocn: where.ocn, stiCaId: where.stiCaId, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem,
    });
    expect(posted.status).toBe(202);
    await app.worker.drain();
    const view = (await app.api<CertificateView>('GET', `/api/v1/certificates/${posted.json.certificate.id}`)).json;
    expect(view.state).toBe('active');
    return { ...where, certificateId: view.id, x5u: view.x5u!, issued };
  }

  async function createSigner(ocns: string[], name = `sbc-${Math.random().toString(36).slice(2, 8)}`) {
    const res = await app.api<SignerView & { credential: string }>('POST', '/api/v1/signers', { name, ocns });
    expect(res.status).toBe(201);
    return res.json;
  }

  async function signerCall<T>(path: string, credential: string | undefined, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer<T>> {
    const res = await fetch(baseUrl + path, {
      method: init.method ?? 'GET',
      headers: {
        ...(credential ? { authorization: `Bearer ${credential}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined) as T };
  }

  const pull = (ocn: string, credential: string | undefined, query = '', headers: Record<string, string> = {}) =>
    signerCall<CredentialBody & Problem>(`/signer/v1/credentials/${ocn}${query}`, credential, { headers });

  function publicKeyDer(key: KeyObject): string {
    return createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('hex');
  }

  const leafPublicKey = (issued: IssuedTestCertificate) => Buffer.from(issued.leaf.publicKey.rawData).toString('hex');

  describe('signer clients (admin API)', () => {
    it('creates a signer scoped to onboarded OCNs; the credential is shown once and stored as its SHA-256', async () => {
      const a = await app.onboard();
      const b = await app.onboard();
      const created = await createSigner([b.ocn, a.ocn], 'sbc-east-1');
      expect(created.credential).toMatch(/^clm_signer_[A-Za-z0-9_-]{43}$/);
      expect(created).toMatchObject({ name: 'sbc-east-1', ocns: [a.ocn, b.ocn].sort(), disabledAt: null, lastSeenAt: null });

      const row = await app.prisma.signerClient.findUniqueOrThrow({ where: { id: created.id } });
      expect(row.credentialHash).toBe(createHash('sha256').update(created.credential).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(created.credential.slice(11));

      const listed = (await app.api<SignerView[]>('GET', '/api/v1/signers')).json.find((s) => s.id === created.id);
      expect(listed).toEqual({ id: created.id, name: 'sbc-east-1', ocns: [a.ocn, b.ocn].sort(), createdAt: expect.any(String), disabledAt: null, lastSeenAt: null });
      expect(JSON.stringify((await app.api('GET', `/api/v1/signers/${created.id}`)).json)).not.toContain('credential');

      const audit = await app.prisma.auditEvent.findMany({ where: { subjectId: created.id } });
      expect(audit).toEqual([expect.objectContaining({ action: 'signer.created', actorType: 'admin', details: { name: 'sbc-east-1', ocns: [a.ocn, b.ocn].sort() } })]);
      expect(JSON.stringify(audit.map((e) => e.details))).not.toContain(created.credential);
    });

    it('refuses OCNs that are not onboarded, malformed OCNs, an empty scope and a taken name', async () => {
      const a = await app.onboard();
      const unknown = await app.api<Problem & { ocns: string[] }>('POST', '/api/v1/signers', { name: 'sbc-unknown', ocns: [a.ocn, 'ZZ99'] });
      expect(unknown).toMatchObject({ status: 422, json: { code: 'SIGNER.OCN_UNKNOWN', ocns: ['ZZ99'] } });
      expect((await app.api<Problem>('POST', '/api/v1/signers', { name: 'sbc-lower', ocns: [a.ocn.toLowerCase()] })).status).toBe(400);
      expect((await app.api<Problem>('POST', '/api/v1/signers', { name: 'sbc-empty', ocns: [] })).status).toBe(400);
      expect((await app.api<Problem>('POST', '/api/v1/signers', { name: 'sbc-extra', ocns: [a.ocn], role: 'admin' })).status).toBe(400);
      await createSigner([a.ocn], 'sbc-taken');
      expect((await app.api<Problem>('POST', '/api/v1/signers', { name: 'sbc-taken', ocns: [a.ocn] })).json.code).toBe('SIGNER.NAME_TAKEN');
      expect(await app.prisma.signerClient.count({ where: { name: { in: ['sbc-unknown', 'sbc-lower', 'sbc-empty', 'sbc-extra'] } } })).toBe(0);
    });

    it('rotates (the old credential stops at once, the new one works), changes the scope and disables, each audited', async () => {
      const a = await activate();
      const b = await activate();
      const signer = await createSigner([a.ocn]);
      expect((await pull(a.ocn, signer.credential)).status).toBe(200);

      const rotated = await app.api<SignerView & { credential: string }>('POST', `/api/v1/signers/${signer.id}/rotate`);
      expect(rotated.status).toBe(200);
      expect(rotated.json.credential).not.toBe(signer.credential);
      expect((await pull(a.ocn, signer.credential)).json.code).toBe('SIGNER.CREDENTIAL_INVALID');
      expect((await pull(a.ocn, rotated.json.credential)).status).toBe(200);

      const rescoped = await app.api<SignerView>('PUT', `/api/v1/signers/${signer.id}/ocns`, { ocns: [b.ocn] });
      expect(rescoped.json.ocns).toEqual([b.ocn]);
      expect((await pull(a.ocn, rotated.json.credential)).json.code).toBe('SIGNER.OCN_NOT_FOUND');
      expect((await pull(b.ocn, rotated.json.credential)).json.certificateId).toBe(b.certificateId);

      const disabled = await app.api<SignerView>('POST', `/api/v1/signers/${signer.id}/disable`);
      expect(disabled.json.disabledAt).not.toBeNull();
      const refused = await pull(b.ocn, rotated.json.credential);
      expect(refused).toMatchObject({ status: 401, json: { code: 'SIGNER.CREDENTIAL_DISABLED' } });
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="shaken-clm signer API"');
      expect((await app.api<Problem>('POST', `/api/v1/signers/${signer.id}/rotate`)).json.code).toBe('SIGNER.DISABLED');

      const actions = (await app.prisma.auditEvent.findMany({ where: { subjectType: 'signer', subjectId: signer.id }, orderBy: { id: 'asc' } })).map((e) => [e.action, e.details]);
      expect(actions).toEqual([
        ['signer.created', { name: signer.name, ocns: [a.ocn] }],
        ['signer.credential_rotated', null],
        ['signer.scope_changed', { added: [b.ocn], removed: [a.ocn], ocns: [b.ocn] }],
        ['signer.disabled', null],
      ]);
    });

    it('is the admin API: signer credentials are not admin tokens and admin tokens are not signer credentials', async () => {
      const a = await activate();
      const signer = await createSigner([a.ocn]);
      const asAdmin = await fetch(`${baseUrl}/api/v1/signers`, { headers: { authorization: `Bearer ${signer.credential}` } });
      expect(asAdmin.status).toBe(401);
      const adminToken = (await app.prisma.adminToken.findFirstOrThrow()).id; // any admin token id is no credential either
      expect((await pull(a.ocn, adminToken)).json.code).toBe('SIGNER.UNAUTHENTICATED');
    });
  });

  describe('pull API', () => {
    let active: Active;
    let credential: string;
    let signerId: string;

    beforeAll(async () => {
      active = await activate();
      ({ credential, id: signerId } = await createSigner([active.ocn]));
    });

    it('hands out the active chain, x5u and key as SEC1 EC PRIVATE KEY, with a strong ETag and no-store, and audits it', async () => {
      const res = await pull(active.ocn, credential);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}\.sec1"$/);
      expect(res.json).toEqual({
        ocn: active.ocn,
        certificateId: active.certificateId,
        x5u: active.x5u,
        notBefore: active.issued.leaf.notBefore.toISOString(),
        notAfter: active.issued.leaf.notAfter.toISOString(),
        certificateChainPem: active.issued.chainPem,
        keyFormat: 'sec1',
        privateKeyPem: expect.stringMatching(/^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+-----END EC PRIVATE KEY-----\n$/),
      });
      // The key is the certificate's key (STIR-SHAKEN.md §9.3: no key/certificate mismatch).
      expect(publicKeyDer(createPrivateKey(res.json.privateKeyPem!))).toBe(leafPublicKey(active.issued));

      // OpenSSL reads it as a P-256 key with its curve and public key, as hosted signers expect (§8).
      const dir = await mkdtemp(join(tmpdir(), 'signer-key-'));
      try {
        await writeFile(join(dir, 'key.pem'), res.json.privateKeyPem!, { mode: 0o600 });
        const { stdout } = await run('openssl', ['ec', '-in', join(dir, 'key.pem'), '-noout', '-text']);
        expect(stdout).toContain('ASN1 OID: prime256v1');
        expect(stdout).toContain('pub:');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }

      const audit = await app.prisma.auditEvent.findMany({ where: { action: 'key.hand_out', actorId: signerId } });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actorType: 'signer', subjectType: 'certificate', subjectId: active.certificateId, sourceAddress: '127.0.0.1',
        correlationId: res.headers.get('x-correlation-id'), details: { ocn: active.ocn, keyFormat: 'sec1' },
      });
    });

    it('writes the key as PKCS#8 or JWK on request, each its own representation (ETag)', async () => {
      const sec1 = await pull(active.ocn, credential);
      const pkcs8 = await pull(active.ocn, credential, '?keyFormat=pkcs8');
      const jwk = await pull(active.ocn, credential, '?keyFormat=jwk');
      expect(pkcs8.json.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(jwk.json.privateKeyPem).toBeUndefined();
      expect(jwk.json.privateKeyJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', d: expect.any(String) });
      const fromJwk = createPrivateKey({ key: jwk.json.privateKeyJwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
      for (const key of [createPrivateKey(pkcs8.json.privateKeyPem!), fromJwk]) expect(publicKeyDer(key)).toBe(leafPublicKey(active.issued));
      const tags = [sec1, pkcs8, jwk].map((r) => r.headers.get('etag'));
      expect(new Set(tags).size).toBe(3);
      expect(tags[1]).toBe(tags[0]!.replace('.sec1"', '.pkcs8"'));
    });

    it('answers If-None-Match with 304 (no body, same ETag, no-store) and counts them instead of writing a row each', async () => {
      await app.clm.app.get(HandOutAudit).flushCounts();
      const etag = (await pull(active.ocn, credential)).headers.get('etag')!;
      const handOutsBefore = await app.prisma.auditEvent.count({ where: { action: 'key.hand_out', actorId: signerId } });
      for (let i = 0; i < 25; i++) {
        const res = await pull(active.ocn, credential, '', { 'if-none-match': i % 2 ? etag : `W/${etag}` });
        expect(res.status).toBe(304);
        expect(res.text).toBe('');
        expect(res.headers.get('etag')).toBe(etag);
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
      expect(await app.prisma.auditEvent.count({ where: { action: 'key.hand_out', actorId: signerId } })).toBe(handOutsBefore);
      expect(await app.prisma.auditEvent.count({ where: { action: 'key.hand_out_unchanged', actorId: signerId } })).toBe(0);
      await app.clm.app.get(HandOutAudit).flushCounts();
      const counted = await app.prisma.auditEvent.findMany({ where: { action: 'key.hand_out_unchanged', actorId: signerId } });
      expect(counted).toEqual([expect.objectContaining({ subjectId: active.certificateId, sourceAddress: '127.0.0.1', details: expect.objectContaining({ ocn: active.ocn, count: 25 }) })]);
      expect((await app.prisma.signerClient.findUniqueOrThrow({ where: { id: signerId } })).lastSeenAt).not.toBeNull();
      // A tag for another key format is another representation: 200.
      expect((await pull(active.ocn, credential, '?keyFormat=pkcs8', { 'if-none-match': etag })).status).toBe(200);
    });

    it('serves 304s and reads the view without the database: they answer while the hand-off tables are locked; a 200 waits for its audit row', async () => {
      const etag = (await pull(active.ocn, credential)).headers.get('etag')!;
      const locker = new pg.Client({ connectionString: app.clm.db.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE certificates, private_keys, providers, ocns, signer_clients, signer_scopes, audit_events IN ACCESS EXCLUSIVE MODE');
        const started = performance.now();
        for (let i = 0; i < 20; i++) expect((await pull(active.ocn, credential, '', { 'if-none-match': etag })).status).toBe(304);
        expect(performance.now() - started).toBeLessThan(2_000);
        // A 200 needs its audit row committed first: it cannot finish while audit_events is locked.
        let settled = false;
        const handOut = pull(active.ocn, credential).then((res) => ((settled = true), res));
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(settled).toBe(false);
        await locker.query('ROLLBACK');
        expect((await handOut).status).toBe(200);
      } finally {
        await locker.end();
      }
    });

    it('refuses a missing, malformed or unknown credential with 401', async () => {
      const cases: [string | undefined, Record<string, string>, string][] = [
        [undefined, {}, 'SIGNER.UNAUTHENTICATED'],
        [undefined, { authorization: `Basic ${Buffer.from(`x:${credential}`).toString('base64')}` }, 'SIGNER.UNAUTHENTICATED'],
        [undefined, { authorization: credential }, 'SIGNER.UNAUTHENTICATED'],
        [`${credential}x`, {}, 'SIGNER.UNAUTHENTICATED'],
        [`clm_signer_${'A'.repeat(43)}`, {}, 'SIGNER.CREDENTIAL_INVALID'],
      ];
      for (const [presented, headers, code] of cases) {
        const res = await pull(active.ocn, presented, '', headers);
        expect(res).toMatchObject({ status: 401, json: { code } });
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
        expect(res.text).not.toContain('PRIVATE KEY');
      }
    });

    it('says when an OCN in scope has no active certificate yet, and long-polls for the first one', async () => {
      const target = await app.onboard();
      const signer = await createSigner([target.ocn]);
      expect((await pull(target.ocn, signer.credential)).json).toMatchObject({ status: 404, code: 'SIGNER.NO_ACTIVE_CERTIFICATE' });
      const waiting = pull(target.ocn, signer.credential, '?wait=20');
      const first = await activate(target);
      const activatedAt = performance.now();
      const res = await waiting;
      expect(performance.now() - activatedAt).toBeLessThan(1_000);
      expect(res.json.certificateId).toBe(first.certificateId);
    });

    it('refuses to hand out or sign for a provider whose signing is suspended (SPC token revoked), and serves again when lifted', async () => {
      const target = await activate();
      const signer = await createSigner([target.ocn]);
      const etag = (await pull(target.ocn, signer.credential)).headers.get('etag')!;
      await app.prisma.provider.update({ where: { id: target.providerId }, data: { signingSuspendedAt: new Date(), signingSuspendedReason: 'SPC token revoked by the STI-GA' } });
      await waitFor(async () => (await pull(target.ocn, signer.credential)).status === 403);
      const refused = await pull(target.ocn, signer.credential, '', { 'if-none-match': etag });
      expect(refused.json).toMatchObject({ status: 403, code: 'SIGNER.SIGNING_SUSPENDED' });
      expect(refused.text).not.toContain('PRIVATE KEY');
      const signing = await signerCall<Problem>('/signer/v1/passports', signer.credential, { method: 'POST', body: { ocn: target.ocn, attest: 'A', orig: '12025550101', dest: ['12025550199'] } });
      expect(signing.json.code).toBe('SIGNER.SIGNING_SUSPENDED');
      await app.prisma.provider.update({ where: { id: target.providerId }, data: { signingSuspendedAt: null, signingSuspendedReason: null } });
      await waitFor(async () => (await pull(target.ocn, signer.credential)).status === 200);
    });

    it('refuses the hand-out (503, no key) when its audit row cannot be written', async () => {
      const db = new pg.Client({ connectionString: app.clm.db.url });
      await db.connect();
      try {
        await db.query(`ALTER TABLE audit_events ADD CONSTRAINT test_no_hand_out CHECK (action <> 'key.hand_out') NOT VALID`);
        const res = await pull(active.ocn, credential);
        expect(res.json).toMatchObject({ status: 503, code: 'SIGNER.AUDIT_UNAVAILABLE' });
        expect(res.text).not.toContain('PRIVATE KEY');
      } finally {
        await db.query('ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS test_no_hand_out');
        await db.end();
      }
      expect((await pull(active.ocn, credential)).status).toBe(200);
    });
  });

  describe('rotation', () => {
    it('a long-poll returns the renewed pair within 1 s of its activation; the previous x5u keeps serving for signers still using it', async () => {
      const first = await activate();
      const signer = await createSigner([first.ocn]);
      const current = await pull(first.ocn, signer.credential);
      const etag = current.headers.get('etag')!;

      const timedOut = performance.now();
      expect((await pull(first.ocn, signer.credential, '?wait=1', { 'if-none-match': etag })).status).toBe(304);
      expect(performance.now() - timedOut).toBeGreaterThanOrEqual(950);

      // Signers that prefer push subscribe a webhook: the activation queues it in its transaction.
      const hook = await app.api<{ id: string }>('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/signer-push', events: ['certificate.activated'] });
      expect(hook.status).toBe(201);

      const waiting = pull(first.ocn, signer.credential, '?wait=30', { 'if-none-match': etag });
      const renewed = await activate(first);
      const activatedAt = performance.now();
      const res = await waiting;
      expect(performance.now() - activatedAt).toBeLessThan(1_000);
      expect(res.status).toBe(200);
      expect(res.json.certificateId).toBe(renewed.certificateId);
      expect(res.json.x5u).toBe(renewed.x5u);
      expect(res.json.x5u).not.toBe(first.x5u);
      expect(res.headers.get('etag')).not.toBe(etag);
      expect(publicKeyDer(createPrivateKey(res.json.privateKeyPem!))).toBe(leafPublicKey(renewed.issued));
      expect((await app.prisma.certificate.findUniqueOrThrow({ where: { id: first.certificateId } })).status).toBe('superseded');

      const pushed = (await app.prisma.webhookDelivery.findMany({ where: { webhookId: hook.json.id } })).map((d) => d.payload as { type: string; subject: { id: string }; data: Record<string, unknown> });
      await app.prisma.webhook.update({ where: { id: hook.json.id }, data: { active: false } });
      expect(pushed).toEqual([expect.objectContaining({
        type: 'certificate.activated',
        subject: { type: 'certificate', id: renewed.certificateId },
        data: expect.objectContaining({
          ocn: first.ocn, x5u: renewed.x5u, notAfter: renewed.issued.leaf.notAfter.toISOString(),
          supersedes: first.certificateId, supersededX5u: first.x5u, supersededNotAfter: first.issued.leaf.notAfter.toISOString(),
        }),
      })]);

      // A slow signer still signs with the old key and x5u: that URL keeps serving the old chain.
      const old = await fetchStiCr(first.x5u, { dispatcher });
      expect(old.status).toBe(200);
      expect(Buffer.from(old.body).toString('utf8')).toBe(first.issued.chainPem);
    });
  });

  describe('PASSporT signing without the key', () => {
    it('signs with the active key inside the service; the PASSporT verifies against the chain at its x5u', async () => {
      const active = await activate();
      const signer = await createSigner([active.ocn]);
      const res = await signerCall<{ passport: string; identity: string; x5u: string; certificateId: string }>('/signer/v1/passports', signer.credential, {
        method: 'POST', body: { ocn: active.ocn, attest: 'A', orig: '12025550101', dest: ['12025550199', '12025550198'], origid: '123e4567-e89b-42d3-a456-426614174000' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.json.x5u).toBe(active.x5u);
      expect(res.text).not.toContain('PRIVATE KEY');
      const verified = await verifyPassport(res.json.passport, {
        fetchChain: async (x5u) => (await fetchStiCr(x5u, { dispatcher })).body,
        trustAnchors: [ca.root],
        now: new Date(),
      });
      expect(verified.spc).toBe(active.ocn);
      expect(verified.claims).toMatchObject({ attest: 'A', orig: { tn: '12025550101' }, dest: { tn: ['12025550199', '12025550198'] }, origid: '123e4567-e89b-42d3-a456-426614174000' });
      expect(Math.abs(verified.claims.iat - Date.now() / 1000)).toBeLessThan(5);
      const identity = parseIdentityHeader(res.json.identity);
      expect(identity).toMatchObject({ jws: res.json.passport, info: active.x5u, alg: 'ES256', ppt: 'shaken' });

      await app.clm.app.get(HandOutAudit).flushCounts();
      expect(await app.prisma.auditEvent.findMany({ where: { action: 'passport.signed', actorId: signer.id } })).toEqual([
        expect.objectContaining({ subjectId: active.certificateId, details: expect.objectContaining({ ocn: active.ocn, count: 1 }) }),
      ]);
    });

    it('refuses bad claims and bodies with their own codes', async () => {
      const active = await activate();
      const signer = await createSigner([active.ocn]);
      const sign = async (body: unknown) => (await signerCall<Problem>('/signer/v1/passports', signer.credential, { method: 'POST', body })).json;
      const good = { ocn: active.ocn, attest: 'B', orig: '12025550101', dest: '12025550199' };
      expect(await sign({ ...good, attest: 'D' })).toMatchObject({ status: 422, code: 'PASSPORT.INVALID_CLAIMS' });
      expect(await sign({ ...good, orig: '+1 202 555 0101' })).toMatchObject({ status: 422, code: 'PASSPORT.INVALID_CLAIMS' });
      expect(await sign({ ...good, origid: 'not-a-uuid' })).toMatchObject({ status: 422, code: 'PASSPORT.INVALID_CLAIMS' });
      expect(await sign({ ...good, dest: [] })).toMatchObject({ status: 422, code: 'PASSPORT.INVALID_CLAIMS' });
      expect(await sign({ ...good, x5u: 'https://evil.example/cert.pem' })).toMatchObject({ status: 400, code: 'SIGNER.REQUEST_INVALID' });
      expect(await sign({ ...good, ocn: active.ocn.toLowerCase() })).toMatchObject({ status: 400, code: 'SIGNER.OCN_MALFORMED' });
      expect(await sign([good])).toMatchObject({ status: 400, code: 'SIGNER.REQUEST_INVALID' });
      const notJson = await fetch(`${baseUrl}/signer/v1/passports`, { method: 'POST', headers: { authorization: `Bearer ${signer.credential}`, 'content-type': 'application/json' }, body: '{"ocn":' });
      expect(notJson.status).toBe(400);
      expect(notJson.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
    });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
