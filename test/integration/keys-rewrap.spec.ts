import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaService } from '@app/db';
import { Keystore, loadKek } from '@app/keystore';
import { generateP256KeyPair } from '@app/shaken';
import { AdminTokenService } from '../../apps/clm/src/auth/admin-token.service.js';
import { privateKeyAad, spcTokenAad, stiPaPasswordAad, eabHmacAad } from '../../apps/clm/src/common/sealed-secrets.js';
import { openSpcToken, sealSpcToken } from '../../apps/clm/src/procurement/sealed-spc-token.js';
import { startInProcessClm } from '../support/clm-app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const oldKek = randomBytes(32).toString('hex');
const newKek = randomBytes(32).toString('base64');
const keystoreFor = async (masterKey: string, previous: string[] = []) =>
  new Keystore(await loadKek({ masterKey, previous, keyFile: '/nonexistent/never-read' }));

async function call(base: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  return { status: res.status, json: (await res.json()) as any };
}

describe('KEK rotation: clm keys rewrap', () => {
  let db: TestDatabase;
  let providerId: string;
  let stiCaId: string;
  let keyId: string;
  let spcTokenId: string;
  const spcTokenJws = `eyJhbGciOiJFUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
  const adminToken = `clm_admin_${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Secrets sealed under the old KEK, through the real admin API.
    const clm = await startInProcessClm({ db, keystore: await keystoreFor(oldKek) });
    try {
      await clm.app.get(AdminTokenService).ensureBootstrapToken(adminToken);
      const base = await clm.app.getUrl();
      const provider = await call(base, adminToken, 'POST', '/api/v1/providers', {
        legalName: 'Rewrap Telecom LLC', frn: '0012345678', filer499Id: '831234', rmdNumber: 'RMD0012345', contactEmail: 'ops@rewrap.example',
      });
      expect(provider.status).toBe(201);
      providerId = provider.json.id;
      expect((await call(base, adminToken, 'PUT', `/api/v1/providers/${providerId}/sti-pa-account`, {
        environment: 'sandbox', baseUrl: 'https://127.0.0.1:8445/sti-pa/api/v1', userId: 'demo', password: 'correct horse battery staple',
      })).status).toBe(200);
      const ca = await call(base, adminToken, 'POST', '/api/v1/sti-cas', {
        name: 'Rewrap CA', directoryUrl: 'https://127.0.0.1:8445/acme/directory', eab: { kid: 'kid-1', hmacKey: randomBytes(32).toString('base64url') },
      });
      expect(ca.status).toBe(201);
      stiCaId = ca.json.id;
      // A certificate key as the lifecycle stores it: PKCS#8 sealed with the record's AAD.
      const keys = await generateP256KeyPair();
      const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
      const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
      const prisma = clm.app.get(PrismaService);
      keyId = crypto.randomUUID();
      await prisma.privateKey.create({
        data: {
          id: keyId, purpose: 'certificate', algorithm: 'ES256', publicKeySpki: spki,
          fingerprint: randomBytes(32).toString('hex'),
          sealed: new Uint8Array(clm.runtime.keystore.sealPrivateKey(pkcs8, privateKeyAad(keyId))),
          kekId: clm.runtime.keystore.currentKekId,
        },
      });
      // An SPC token as procurement stores it: sealed, bound to its row, for an ACME account of the provider.
      const ocn = await prisma.ocn.create({ data: { code: '7R3W', providerId } });
      const account = await prisma.acmeAccount.create({ data: { stiCaId, providerId, keyId, status: 'valid', accountUrl: 'https://127.0.0.1:8445/acme/acct/1' } });
      const sealed = sealSpcToken(clm.runtime.keystore, spcTokenJws);
      spcTokenId = sealed.id;
      await prisma.spcToken.create({
        data: {
          ...sealed, providerId, ocnId: ocn.id, acmeAccountId: account.id, jti: 'jti-1', expiresAt: new Date(Date.now() + 3_600_000),
          fingerprint: 'SHA256 00', status: 'valid',
        },
      });
      expect(Buffer.from(sealed.tokenSealed).includes(Buffer.from(spcTokenJws.split('.')[1]!))).toBe(false);
    } finally {
      await clm.close();
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reseals every secret under the new KEK; the old KEK then opens none of them', async () => {
    const rotated = await keystoreFor(newKek, [oldKek]);
    const clm = await startInProcessClm({ db, keystore: rotated });
    try {
      const base = await clm.app.getUrl();
      const first = await call(base, adminToken, 'POST', '/api/v1/keys/rewrap');
      expect(first.status).toBe(200);
      expect(first.json).toMatchObject({
        currentKekId: rotated.currentKekId,
        privateKeys: { rewrapped: 1, alreadyCurrent: 0 },
        stiPaPasswords: { rewrapped: 1, alreadyCurrent: 0 },
        eabKeys: { rewrapped: 1, alreadyCurrent: 0 },
        spcTokens: { rewrapped: 1, alreadyCurrent: 0 },
      });
      const again = await call(base, adminToken, 'POST', '/api/v1/keys/rewrap');
      expect(again.json.privateKeys).toEqual({ rewrapped: 0, alreadyCurrent: 1, failed: [] });

      const prisma = clm.app.get(PrismaService);
      const account = await prisma.stiPaAccount.findUniqueOrThrow({ where: { providerId } });
      const ca = await prisma.stiCa.findUniqueOrThrow({ where: { id: stiCaId } });
      const key = await prisma.privateKey.findUniqueOrThrow({ where: { id: keyId } });
      expect(key.kekId).toBe(rotated.currentKekId);

      const newOnly = await keystoreFor(newKek);
      expect(newOnly.open(account.passwordSealed, stiPaPasswordAad(providerId)).toString()).toBe('correct horse battery staple');
      expect(newOnly.open(ca.eabHmacSealed!, eabHmacAad(stiCaId)).length).toBeGreaterThan(0);
      expect(newOnly.openPrivateKey(key.sealed!, privateKeyAad(keyId)).asymmetricKeyType).toBe('ec');
      const token = await prisma.spcToken.findUniqueOrThrow({ where: { id: spcTokenId } });
      expect(openSpcToken(newOnly, token)).toBe(spcTokenJws);
      // Bound to its row: the same blob under another id does not open.
      expect(() => newOnly.open(token.tokenSealed!, spcTokenAad(keyId))).toThrow(/KEYSTORE|authentication/);
      const oldKeystore = await keystoreFor(oldKek);
      expect(() => openSpcToken(oldKeystore, token)).toThrow(/KEK/);

      const oldOnly = await keystoreFor(oldKek);
      expect(() => oldOnly.open(account.passwordSealed, stiPaPasswordAad(providerId))).toThrow(/KEK/);
    } finally {
      await clm.close();
    }
  });

  it('reports what it could not open instead of stopping halfway, and still audits the run', async () => {
    // A third KEK with the one the secrets are sealed under missing from CLM_PREVIOUS_MASTER_KEYS.
    const clm = await startInProcessClm({ db, keystore: await keystoreFor(randomBytes(32).toString('hex')) });
    try {
      const base = await clm.app.getUrl();
      const res = await call(base, adminToken, 'POST', '/api/v1/keys/rewrap');
      expect(res.status).toBe(409);
      expect(res.json.code).toBe('KEYSTORE.REWRAP_INCOMPLETE');
      expect(res.json.report.privateKeys.failed).toEqual([{ id: keyId, code: 'KEYSTORE.UNKNOWN_KEK' }]);
      expect(res.json.report.stiPaPasswords.failed).toEqual([{ id: providerId, code: 'KEYSTORE.UNKNOWN_KEK' }]);
      expect(res.json.report.spcTokens.failed).toEqual([{ id: spcTokenId, code: 'KEYSTORE.UNKNOWN_KEK' }]);
      const audits = await clm.app.get(PrismaService).auditEvent.count({ where: { action: 'keystore.rewrapped' } });
      expect(audits).toBe(3);
    } finally {
      await clm.close();
    }
  });

  it('refuses rewrap to a compliance token', async () => {
    const clm = await startInProcessClm({ db, keystore: await keystoreFor(newKek) });
    try {
      const base = await clm.app.getUrl();
      const compliance = await call(base, adminToken, 'POST', '/api/v1/admin-tokens', { name: 'desk', role: 'compliance' });
      const res = await call(base, compliance.json.token, 'POST', '/api/v1/keys/rewrap');
      expect(res.status).toBe(403);
      expect(res.json.code).toBe('AUTH.FORBIDDEN');
    } finally {
      await clm.close();
    }
  });
});
