import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { AcmeErrorCode, AcmeProblemError, type AcmeClient, type AcmeOrder } from '@app/acme';
import {
  base64UrlDecode,
  base64UrlEncode,
  buildShakenCsr,
  es256Sign,
  exportPublicJwk,
  generateP256KeyPair,
  signSpcToken,
  stiPaFingerprint,
  tnAuthListForSpc,
  type CryptoKeyPair,
} from '@app/shaken';
import { StiPaErrorCode, type StiPaClient } from '@app/sti-pa';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxClients, startSandboxProcess, type SandboxClientOptions, type SandboxProcess } from '../support/sandbox.js';

interface Clients {
  stiPa: StiPaClient;
  acme: AcmeClient;
  close(): Promise<void>;
}

interface RawAnswer {
  status: number;
  headers: Headers;
  json: Record<string, unknown> | undefined;
}

/** A hand-made RFC 8555 request, so that the test can break exactly one rule at a time. */
async function rawAcme(
  sandbox: SandboxProcess,
  url: string,
  payload: unknown,
  options: { key: CryptoKeyPair; kid?: string; nonce?: string; headerUrl?: string; contentType?: string; method?: 'POST' | 'GET' },
): Promise<RawAnswer> {
  const nonce = options.nonce ?? (await freshNonce(sandbox));
  const header = { alg: 'ES256', nonce, url: options.headerUrl ?? url, ...(options.kid ? { kid: options.kid } : { jwk: await exportPublicJwk(options.key.publicKey) }) };
  const protectedPart = base64UrlEncode(JSON.stringify(header));
  const payloadPart = payload === '' ? '' : base64UrlEncode(JSON.stringify(payload));
  const signature = await es256Sign(options.key.privateKey, Buffer.from(`${protectedPart}.${payloadPart}`, 'ascii'));
  const response = await fetch(url, {
    method: options.method ?? 'POST',
    dispatcher: sandbox.dispatcher,
    headers: { 'content-type': options.contentType ?? 'application/jose+json' },
    ...(options.method === 'GET' ? {} : { body: JSON.stringify({ protected: protectedPart, payload: payloadPart, signature: base64UrlEncode(signature) }) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers as unknown as Headers, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function freshNonce(sandbox: SandboxProcess): Promise<string> {
  const response = await fetch(`${sandbox.baseUrl}/acme/new-nonce`, { method: 'HEAD', dispatcher: sandbox.dispatcher });
  const nonce = response.headers.get('replay-nonce');
  if (!nonce) throw new Error('newNonce answered without Replay-Nonce');
  return nonce;
}

async function newOrder(c: Clients, spc = '818H'): Promise<AcmeOrder> {
  return c.acme.createOrder({ identifiers: [{ type: 'TNAuthList', der: tnAuthListForSpc(spc) }] });
}

/** Answers the order's challenge with `token` and returns the settled challenge. */
async function answer(c: Clients, order: AcmeOrder, token: string) {
  const authz = await c.acme.getAuthorization(order.authorizations[0] as string);
  const challenge = authz.challenges.find((candidate) => candidate.type === 'tkauth-01');
  expect(challenge).toMatchObject({ 'tkauth-type': 'atc', status: 'pending' });
  await c.acme.respondToChallenge(challenge!.url, { atc: token });
  return c.acme.waitForChallenge(challenge!.url);
}

describe('the sandbox refuses what the real STI-PA and STI-CAs refuse', () => {
  let sandbox: SandboxProcess;
  const opened: Clients[] = [];

  async function clients(options: SandboxClientOptions = {}): Promise<Clients> {
    const created = await sandboxClients(sandbox, options);
    opened.push(created);
    await created.acme.createAccount({ termsOfServiceAgreed: true });
    return created;
  }

  async function tokenFor(c: Clients, spc: string, fingerprint?: string): Promise<string> {
    return (await c.stiPa.requestSpcToken({ ocn: spc, fingerprint: fingerprint ?? (await c.acme.accountKeyFingerprint()) })).token;
  }

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
  });
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await sandbox?.stop();
  });

  it('STI-PA: no token for an OCN the API user does not hold, none for a tkvalue of another SPC', async () => {
    const c = await clients();
    await expect(c.stiPa.requestSpcToken({ ocn: '999Z', fingerprint: await c.acme.accountKeyFingerprint() })).rejects.toMatchObject({
      code: StiPaErrorCode.FORBIDDEN_OCN,
    });
    // Raw request: the client itself refuses to send a mismatching tkvalue, the STI-PA must refuse it too.
    const login = await fetch(`${sandbox.stiPaApi}/auth/login`, {
      method: 'POST',
      dispatcher: sandbox.dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'demo', password: 'demo-password' }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const tokenRequest = (tkvalue: string, accept = 'application/jose+json', authorization = accessToken) =>
      fetch(`${sandbox.stiPaApi}/account/818H/token`, {
        method: 'POST',
        dispatcher: sandbox.dispatcher,
        headers: { authorization, accept, 'content-type': 'application/json' },
        body: JSON.stringify({ atc: { tktype: 'TNAuthList', tkvalue, ca: false, fingerprint: `SHA256 ${'AB:'.repeat(31)}AB` } }),
      });
    const otherSpc = await tokenRequest(Buffer.from(tnAuthListForSpc('709J')).toString('base64'));
    expect(otherSpc.status).toBe(400);
    expect(await otherSpc.json()).toMatchObject({ status: 'failed', message: expect.stringContaining('818H') });
    const urlSafe = await tokenRequest(Buffer.from(tnAuthListForSpc('818H')).toString('base64url'));
    expect(urlSafe.status).toBe(400);
    expect((await tokenRequest(Buffer.from(tnAuthListForSpc('818H')).toString('base64'), 'application/json')).status).toBe(406);
    expect((await tokenRequest(Buffer.from(tnAuthListForSpc('818H')).toString('base64'), undefined, `Bearer ${accessToken}`)).status).toBe(401);
    expect((await tokenRequest(Buffer.from(tnAuthListForSpc('818H')).toString('base64'))).status).toBe(200);
  });

  it('STI-CA: a tampered token fails the signature check (SPC_TOKEN.BAD_SIGNATURE)', async () => {
    const c = await clients();
    const order = await newOrder(c);
    const [header, payload, signature] = (await tokenFor(c, '818H')).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(base64UrlDecode(payload)!).toString('utf8')) as { exp: number };
    claims.exp += 365 * 86_400;
    const tampered = `${header}.${base64UrlEncode(JSON.stringify(claims))}.${signature}`;
    const challenge = await answer(c, order, tampered);
    expect(challenge.status).toBe('invalid');
    expect(challenge.error).toMatchObject({ type: 'urn:ietf:params:acme:error:unauthorized', detail: expect.stringContaining('SPC_TOKEN.BAD_SIGNATURE') });
  });

  it('STI-CA: a token signed by anyone but the STI-PA is refused, whatever its x5u says', async () => {
    const c = await clients();
    const forger = await generateP256KeyPair();
    const atc = { tkvalue: Buffer.from(tnAuthListForSpc('818H')).toString('base64'), ca: false, fingerprint: await c.acme.accountKeyFingerprint() };
    const exp = new Date(Date.now() + 3_600_000);
    const sameX5u = await signSpcToken({ atc, exp, x5u: `${sandbox.baseUrl}/sti-pa/download/v1/certificate/sti-pa-signing.pem` }, forger.privateKey);
    const ownX5u = await signSpcToken({ atc, exp, x5u: 'https://sti-pa.forger.example/cert.pem' }, forger.privateKey);
    const first = await answer(c, await newOrder(c), sameX5u);
    expect(first.error?.detail).toContain('SPC_TOKEN.BAD_SIGNATURE');
    const second = await answer(c, await newOrder(c), ownX5u);
    expect(second.error?.detail).toContain('SPC_TOKEN.X5U_FETCH_FAILED');
  });

  it('STI-CA: a token bound to another account key is refused (SPC_TOKEN.FINGERPRINT_MISMATCH)', async () => {
    const c = await clients();
    const otherKey = await generateP256KeyPair();
    const challenge = await answer(c, await newOrder(c), await tokenFor(c, '818H', await stiPaFingerprint(otherKey.publicKey)));
    expect(challenge.status).toBe('invalid');
    expect(challenge.error).toMatchObject({ type: 'urn:ietf:params:acme:error:incorrectResponse', detail: expect.stringContaining('SPC_TOKEN.FINGERPRINT_MISMATCH') });
  });

  it('STI-CA: a challenge takes one response; a second, even with a good token, is refused as Pebble refuses it (RFC 8555 §7.1.6)', async () => {
    const c = await clients();
    const order = await newOrder(c);
    const failed = await answer(c, order, await tokenFor(c, '709J'));
    expect(failed.status).toBe('invalid');
    const good = await tokenFor(c, '818H');
    const again = await c.acme.respondToChallenge(failed.url, { atc: good }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'ACME.MALFORMED', status: 400, detail: expect.stringContaining('Cannot update challenge with status invalid, only status pending') });
    expect((await c.acme.getChallenge(failed.url)).status).toBe('invalid');
    expect((await c.acme.getOrder(order.url)).status).toBe('invalid');
    // The way on is a new order: its challenge takes the good token, and once valid takes no other.
    const fresh = await answer(c, await newOrder(c), good);
    expect(fresh.status).toBe('valid');
    await expect(c.acme.respondToChallenge(fresh.url, { atc: good })).rejects.toMatchObject({ code: 'ACME.MALFORMED', detail: expect.stringContaining('status valid') });
  });

  it('STI-CA: a token for another SPC than the order is refused (SPC_TOKEN.TKVALUE_MISMATCH)', async () => {
    const c = await clients();
    const challenge = await answer(c, await newOrder(c, '818H'), await tokenFor(c, '709J'));
    expect(challenge.error?.detail).toContain('SPC_TOKEN.TKVALUE_MISMATCH');
  });

  it('STI-CA: after a key rollover, tokens bound to the old key stop working and new ones work', async () => {
    const c = await clients();
    const oldToken = await tokenFor(c, '818H');
    await c.acme.rolloverKey(await generateP256KeyPair());
    expect((await answer(c, await newOrder(c), oldToken)).error?.detail).toContain('SPC_TOKEN.FINGERPRINT_MISMATCH');
    expect((await answer(c, await newOrder(c), await tokenFor(c, '818H'))).status).toBe('valid');
  });

  it('STI-CA: finalize refuses a CSR for another SPC and a CSR made with the account key (badCSR)', async () => {
    const accountKey = await generateP256KeyPair();
    const c = await clients({ accountKey });
    const order = await newOrder(c, '818H');
    expect((await answer(c, order, await tokenFor(c, '818H'))).status).toBe('valid');
    const otherSpcCsr = await buildShakenCsr({ keys: await generateP256KeyPair(), legalName: 'Demo Telecom LLC', spc: '709J' });
    const refused = await c.acme.finalizeOrder(order, otherSpcCsr.der).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AcmeProblemError);
    expect(refused).toMatchObject({ code: AcmeErrorCode.BAD_CSR, detail: expect.stringContaining('CSR.TN_AUTH_LIST_MISMATCH') });
    const accountKeyCsr = await buildShakenCsr({ keys: accountKey, legalName: 'Demo Telecom LLC', spc: '818H' });
    await expect(c.acme.finalizeOrder(order, accountKeyCsr.der)).rejects.toMatchObject({ code: AcmeErrorCode.BAD_CSR });
    const good = await buildShakenCsr({ keys: await generateP256KeyPair(), legalName: 'Demo Telecom LLC', spc: '818H' });
    expect((await c.acme.finalizeOrder(order, good.der)).status).toBe('valid');
  });

  it('STI-CA: orders only TNAuthList identifiers, one SPC, base64url without padding (RFC 9448)', async () => {
    const c = await clients();
    const dns = await c.acme.createOrder({ identifiers: [{ type: 'dns', value: 'example.com' }] }).catch((e: unknown) => e);
    expect(dns).toMatchObject({ code: AcmeErrorCode.UNSUPPORTED_IDENTIFIER, status: 400 });
    expect((dns as AcmeProblemError).subproblems[0]).toMatchObject({ identifier: { type: 'dns', value: 'example.com' } });
    const padded = await sandboxClients(sandbox, { acme: { identifierEncoding: 'base64' } });
    opened.push(padded);
    await padded.acme.createAccount({ termsOfServiceAgreed: true });
    await expect(newOrder(padded)).rejects.toMatchObject({ code: AcmeErrorCode.REJECTED_IDENTIFIER });
    const range = Buffer.from([0x30, 0x0d, 0xa1, 0x0b, 0x30, 0x09, 0x16, 0x04, 0x32, 0x30, 0x32, 0x35, 0x02, 0x01, 0x0a]).toString('base64url');
    await expect(c.acme.createOrder({ identifiers: [{ type: 'TNAuthList', value: range }] })).rejects.toMatchObject({
      code: AcmeErrorCode.REJECTED_IDENTIFIER,
      detail: expect.stringContaining('exactly one SPC'),
    });
  });

  it('STI-CA: a reused nonce is badNonce, and the error carries a fresh Replay-Nonce', async () => {
    const key = await generateP256KeyPair();
    const nonce = await freshNonce(sandbox);
    const newAccount = `${sandbox.baseUrl}/acme/new-account`;
    const first = await rawAcme(sandbox, newAccount, { termsOfServiceAgreed: true }, { key, nonce });
    expect(first.status).toBe(201);
    const replay = await rawAcme(sandbox, newAccount, { termsOfServiceAgreed: true }, { key, nonce });
    expect(replay.status).toBe(400);
    expect(replay.headers.get('content-type')).toContain('application/problem+json');
    expect(replay.json).toMatchObject({ type: 'urn:ietf:params:acme:error:badNonce' });
    expect(replay.headers.get('replay-nonce')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const again = await rawAcme(sandbox, newAccount, { termsOfServiceAgreed: true }, { key, nonce: replay.headers.get('replay-nonce')! });
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
  });

  it('STI-CA: JWS url must be the request URL; resources are POST-as-GET only; Content-Type must be jose+json', async () => {
    const key = await generateP256KeyPair();
    const created = await rawAcme(sandbox, `${sandbox.baseUrl}/acme/new-account`, { termsOfServiceAgreed: true }, { key });
    const kid = created.headers.get('location')!;
    const newOrderUrl = `${sandbox.baseUrl}/acme/new-order`;
    const identifiers = [{ type: 'TNAuthList', value: Buffer.from(tnAuthListForSpc('818H')).toString('base64url') }];
    const wrongUrl = await rawAcme(sandbox, newOrderUrl, { identifiers }, { key, kid, headerUrl: `${sandbox.baseUrl}/acme/new-account` });
    expect(wrongUrl).toMatchObject({ status: 403, json: { type: 'urn:ietf:params:acme:error:unauthorized' } });
    const wrongType = await rawAcme(sandbox, newOrderUrl, { identifiers }, { key, kid, contentType: 'application/json' });
    expect(wrongType).toMatchObject({ status: 415, json: { type: 'urn:ietf:params:acme:error:malformed' } });
    const jwkInsteadOfKid = await rawAcme(sandbox, newOrderUrl, { identifiers }, { key });
    expect(jwkInsteadOfKid).toMatchObject({ status: 400, json: { type: 'urn:ietf:params:acme:error:malformed' } });

    const order = await rawAcme(sandbox, newOrderUrl, { identifiers }, { key, kid });
    expect(order.status).toBe(201);
    const orderUrl = order.headers.get('location')!;
    const plainGet = await fetch(orderUrl, { dispatcher: sandbox.dispatcher });
    expect(plainGet.status).toBe(405);
    expect(plainGet.headers.get('allow')).toBe('POST');
    const withPayload = await rawAcme(sandbox, orderUrl, {}, { key, kid });
    expect(withPayload).toMatchObject({ status: 400, json: { detail: expect.stringContaining('POST-as-GET') } });
    const postAsGet = await rawAcme(sandbox, orderUrl, '', { key, kid });
    expect(postAsGet).toMatchObject({ status: 200, json: { status: 'pending', identifiers } });

    const stranger = await generateP256KeyPair();
    const strangerKid = (await rawAcme(sandbox, `${sandbox.baseUrl}/acme/new-account`, {}, { key: stranger })).headers.get('location')!;
    expect(await rawAcme(sandbox, orderUrl, '', { key: stranger, kid: strangerKid })).toMatchObject({ status: 403 });
    expect(await rawAcme(sandbox, orderUrl, '', { key: stranger, kid })).toMatchObject({ status: 400, json: { detail: 'JWS signature does not verify' } });
  });

  it('persists accounts, certificates and its PKI across a restart', async () => {
    const accountKey = await generateP256KeyPair();
    const c = await clients({ accountKey });
    const order = await newOrder(c);
    await answer(c, order, await tokenFor(c, '818H'));
    const csr = await buildShakenCsr({ keys: await generateP256KeyPair(), legalName: 'Demo Telecom LLC', spc: '818H' });
    const finalized = await c.acme.finalizeOrder(order, csr.der);
    const before = await c.acme.downloadCertificate(finalized);
    const rootBefore = await readFile(sandbox.paths.stiCaRoot, 'utf8');

    sandbox = await sandbox.restart();
    expect(await readFile(sandbox.paths.stiCaRoot, 'utf8')).toBe(rootBefore);
    const again = await sandboxClients(sandbox, { accountKey });
    opened.push(again);
    const account = await again.acme.findAccount();
    expect(account.status).toBe('valid');
    expect((await again.acme.downloadCertificate(finalized)).pem).toBe(before.pem);
  });
});

describe('sandbox switches for STI-CA variants', () => {
  it('requires External Account Binding when configured, and binds each EAB key to one account', async () => {
    const sandbox = await startSandboxProcess({ env: { SANDBOX_REQUIRE_EAB: 'true' } });
    const opened: Clients[] = [];
    try {
      const c = await sandboxClients(sandbox);
      opened.push(c);
      expect((await c.acme.getDirectory()).meta?.externalAccountRequired).toBe(true);
      await expect(c.acme.createAccount({ termsOfServiceAgreed: true })).rejects.toMatchObject({ code: AcmeErrorCode.EXTERNAL_ACCOUNT_REQUIRED });
      const eab = await sandbox.adminApi<{ kid: string; hmacKey: string }>('POST', '/eab-keys');
      await expect(c.acme.createAccount({ termsOfServiceAgreed: true, externalAccountBinding: { kid: eab.kid, hmacKey: 'AAAA' + eab.hmacKey.slice(4) } })).rejects.toMatchObject({
        code: AcmeErrorCode.UNAUTHORIZED,
      });
      expect((await c.acme.createAccount({ termsOfServiceAgreed: true, externalAccountBinding: eab })).status).toBe('valid');
      const second = await sandboxClients(sandbox);
      opened.push(second);
      await expect(second.acme.createAccount({ externalAccountBinding: eab })).rejects.toMatchObject({ code: AcmeErrorCode.UNAUTHORIZED });
    } finally {
      await Promise.all(opened.map((c) => c.close()));
      await sandbox.stop();
    }
  });

  it('accepts padded standard base64 identifiers only when SANDBOX_ACCEPT_PADDED_IDENTIFIERS is on', async () => {
    const sandbox = await startSandboxProcess({ env: { SANDBOX_ACCEPT_PADDED_IDENTIFIERS: 'true' } });
    const c = await sandboxClients(sandbox, { acme: { identifierEncoding: 'base64' } });
    try {
      await c.acme.createAccount({ termsOfServiceAgreed: true });
      const order = await newOrder(c);
      expect(order.identifiers[0]?.value).toBe('MAigBhYEODE4SA==');
      expect((await answer(c, order, await tokenFor(c, '818H'))).status).toBe('valid');
    } finally {
      await c.close();
      await sandbox.stop();
    }

    async function tokenFor(clients: Clients, spc: string): Promise<string> {
      return (await clients.stiPa.requestSpcToken({ ocn: spc, fingerprint: await clients.acme.accountKeyFingerprint() })).token;
    }
  });
});
