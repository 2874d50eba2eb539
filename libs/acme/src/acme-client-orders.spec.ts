import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcmeClient, RevocationReason, type AcmeClientOptions } from './acme-client.js';
import { AcmePollTimeoutError, AcmeProtocolError, AcmeStatusError, isAcmeError } from './errors.js';
import type { AcmeOrder } from './resources.js';
import { problem, ScriptedAcmeServer, type ScriptedReply } from './testing/scripted-acme-server.js';

/** Orders, finalize and polling, download, revocation and key rollover, over real loopback HTTP. */

const newKey = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
// RFC 8226 TNAuthList for SPC 818H.
const SPC_818H = Uint8Array.from([0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, 0x38, 0x31, 0x38, 0x48]);
// Bytes that start like a DER SEQUENCE; the client forwards them, the CA judges the content.
const CSR = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0xfb]);
const PEM = (tag: string): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(tag.padEnd(48, '.')).toString('base64')}\n-----END CERTIFICATE-----\n`;

let server: ScriptedAcmeServer;
let client: AcmeClient;
let sleeps: number[];
const NOW = new Date('2026-11-23T10:00:00Z');

async function accountClient(options: Partial<AcmeClientOptions> = {}): Promise<AcmeClient> {
  const c = new AcmeClient({
    directoryUrl: server.directoryUrl,
    accountKey: await newKey(),
    clock: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    polling: { defaultIntervalMs: 1_000, maxIntervalMs: 5_000, maxTotalWaitMs: 60_000, maxAttempts: 5 },
    ...options,
  });
  await c.createAccount({ termsOfServiceAgreed: true });
  return c;
}

function orderBody(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status,
    identifiers: [{ type: 'TNAuthList', value: 'MAigBhYEODE4SA' }],
    authorizations: [server.url('/authz/1')],
    finalize: server.url('/finalize/1'),
    ...(status === 'valid' ? { certificate: server.url('/cert/1') } : {}),
    ...extra,
  };
}

function sequence(...replies: ScriptedReply[]): () => ScriptedReply {
  let i = 0;
  return () => replies[Math.min(i++, replies.length - 1)] as ScriptedReply;
}

beforeEach(async () => {
  server = await ScriptedAcmeServer.start();
  sleeps = [];
  client = await accountClient();
  server.on('/new-order', (request) => ({
    status: 201,
    headers: { location: server.url('/order/1') },
    body: orderBody('pending', { identifiers: (request.payload as { identifiers: unknown }).identifiers }),
  }));
});

afterEach(async () => {
  await client.close();
  await server.close();
});

describe('newOrder (RFC 8555 §7.4, RFC 9448)', () => {
  it('writes a TNAuthList given as DER in the CA\'s encoding: base64url by default, base64 when configured', async () => {
    const order = await client.createOrder({ identifiers: [{ type: 'TNAuthList', der: SPC_818H }], notAfter: new Date('2027-02-21T00:00:00Z') });
    expect(server.postsTo('/new-order')[0]?.payload).toEqual({
      identifiers: [{ type: 'TNAuthList', value: 'MAigBhYEODE4SA' }],
      notAfter: '2027-02-21T00:00:00.000Z',
    });
    expect(order.url).toBe(server.url('/order/1'));
    expect(order.status).toBe('pending');

    const padded = await accountClient({ identifierEncoding: 'base64' });
    await padded.createOrder({ identifiers: [{ type: 'TNAuthList', der: SPC_818H }] });
    expect(server.postsTo('/new-order')[1]?.payload).toEqual({ identifiers: [{ type: 'TNAuthList', value: 'MAigBhYEODE4SA==' }] });
    // Signed with the account's kid, not an embedded key.
    expect(server.postsTo('/new-order')[1]?.protectedHeader.kid).toBe(server.url('/acct/2'));
  });

  it('refuses an empty identifier list and an invalid date before sending anything', async () => {
    await expect(client.createOrder({ identifiers: [] })).rejects.toMatchObject({ code: 'ACME.INVALID_ARGUMENT' });
    await expect(client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }], notBefore: 'yesterday' })).rejects.toMatchObject({
      code: 'ACME.INVALID_ARGUMENT',
    });
    expect(server.postsTo('/new-order')).toHaveLength(0);
  });

  it('needs an account first', async () => {
    const anonymous = new AcmeClient({ directoryUrl: server.directoryUrl, accountKey: await newKey() });
    await expect(anonymous.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] })).rejects.toMatchObject({ code: 'ACME.NO_ACCOUNT' });
  });

  it('reads the CA-hosted STI-CR URL from x5u, else from X-Shaken-Certificate-Location', async () => {
    server.on('/order/1', sequence({ body: orderBody('ready', { x5u: 'https://cr.ca.example/818H/1.pem' }) }, {
      body: orderBody('ready'),
      headers: { 'x-shaken-certificate-location': 'https://cr.ca.example/818H/2.pem' },
    }, { body: orderBody('ready') }));
    expect((await client.getOrder(server.url('/order/1'))).stiCrUrl).toBe('https://cr.ca.example/818H/1.pem');
    expect((await client.getOrder(server.url('/order/1'))).stiCrUrl).toBe('https://cr.ca.example/818H/2.pem');
    expect((await client.getOrder(server.url('/order/1'))).stiCrUrl).toBeUndefined();
  });

  it('rejects an order object with an unknown status or a valid order without certificate', async () => {
    server.on('/order/1', sequence({ body: orderBody('done') }, { body: orderBody('pending', { status: 'valid' }) }));
    await expect(client.getOrder(server.url('/order/1'))).rejects.toBeInstanceOf(AcmeProtocolError);
    await expect(client.getOrder(server.url('/order/1'))).rejects.toThrow(/without "certificate"/);
  });
});

describe('finalize and polling (RFC 8555 §7.4, Retry-After)', () => {
  let order: AcmeOrder;

  beforeEach(async () => {
    order = await client.createOrder({ identifiers: [{ type: 'TNAuthList', der: SPC_818H }] });
  });

  it('waits for ready, sends the CSR as base64url, then polls honouring Retry-After with a cap', async () => {
    server.on('/order/1', sequence(
      { body: orderBody('ready') },
      { body: orderBody('processing'), headers: { 'retry-after': '120' } },
      { body: orderBody('valid') },
    ));
    server.on('/finalize/1', () => ({ body: orderBody('processing'), headers: { 'retry-after': '3' } }));

    const valid = await client.finalizeOrder(order, CSR);
    expect(valid.status).toBe('valid');
    expect(valid.certificate).toBe(server.url('/cert/1'));
    expect(server.postsTo('/finalize/1')[0]?.payload).toEqual({ csr: Buffer.from(CSR).toString('base64url') });
    // The pending order is re-read at once (ready); finalize says 3 s; the order says 120 s, capped at 5 s.
    expect(server.postsTo('/order/1')).toHaveLength(3);
    expect(sleeps).toEqual([3_000, 5_000]);
  });

  it('reads an HTTP-date Retry-After against the injected clock', async () => {
    server.on('/finalize/1', () => ({ body: orderBody('processing'), headers: { 'retry-after': 'Mon, 23 Nov 2026 10:00:04 GMT' } }));
    server.on('/order/1', () => ({ body: orderBody('valid') }));
    await client.finalizeOrder({ ...order, status: 'ready' }, CSR);
    expect(sleeps).toEqual([4_000]);
  });

  it('gives up with ACME.POLL_TIMEOUT after maxAttempts fetches', async () => {
    server.on('/finalize/1', () => ({ body: orderBody('processing') }));
    server.on('/order/1', () => ({ body: orderBody('processing') }));
    const error = await client.finalizeOrder({ ...order, status: 'ready' }, CSR).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmePollTimeoutError);
    expect((error as AcmePollTimeoutError).code).toBe('ACME.POLL_TIMEOUT');
    expect(server.postsTo('/order/1')).toHaveLength(5);
    expect(sleeps).toEqual([1_000, 1_000, 1_000, 1_000, 1_000]);
  });

  it('also stops when the summed waits would pass maxTotalWaitMs', async () => {
    const impatient = await accountClient({ polling: { maxTotalWaitMs: 8_000, maxIntervalMs: 5_000, maxAttempts: 100 } });
    server.on('/finalize/1', () => ({ body: orderBody('processing'), headers: { 'retry-after': '5' } }));
    server.on('/order/1', () => ({ body: orderBody('processing'), headers: { 'retry-after': '5' } }));
    await expect(impatient.finalizeOrder({ ...order, status: 'ready' }, CSR)).rejects.toMatchObject({ code: 'ACME.POLL_TIMEOUT' });
    expect(sleeps).toEqual([5_000]);
  });

  it('surfaces an invalid order with the CA\'s problem', async () => {
    const badCsr = { type: 'urn:ietf:params:acme:error:badCSR', detail: 'TNAuthList in CSR differs from the order' };
    server.on('/finalize/1', () => ({ body: orderBody('processing') }));
    server.on('/order/1', () => ({ body: orderBody('invalid', { error: badCsr }) }));
    const error = await client.finalizeOrder({ ...order, status: 'ready' }, CSR).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeStatusError);
    expect(error).toMatchObject({ code: 'ACME.ORDER_INVALID', problem: badCsr });
    expect((error as Error).message).toContain('TNAuthList in CSR differs from the order');
  });

  it('passes a finalize problem (e.g. badCSR) through as the typed problem', async () => {
    server.on('/finalize/1', () => problem(400, 'badCSR', 'key is not P-256'));
    await expect(client.finalizeOrder({ ...order, status: 'ready' }, CSR)).rejects.toMatchObject({ code: 'ACME.BAD_CSR', detail: 'key is not P-256' });
  });

  it('only waits for an order that is already processing, without finalizing again', async () => {
    server.on('/order/1', sequence({ body: orderBody('processing') }, { body: orderBody('valid') }));
    const valid = await client.finalizeOrder({ ...order, status: 'processing' }, CSR);
    expect(valid.status).toBe('valid');
    expect(server.postsTo('/finalize/1')).toHaveLength(0);
  });

  it('does not wait for a ready order to become valid by itself', async () => {
    server.on('/order/1', () => ({ body: orderBody('ready') }));
    await expect(client.waitForOrder(order.url, 'valid')).rejects.toMatchObject({ code: 'ACME.INVALID_ARGUMENT' });
    expect(sleeps).toEqual([]);
  });

  it('refuses a CSR that is not DER', async () => {
    await expect(client.finalizeOrder(order, new TextEncoder().encode('-----BEGIN CERTIFICATE REQUEST-----'))).rejects.toMatchObject({
      code: 'ACME.INVALID_ARGUMENT',
    });
  });
});

describe('authorizations (RFC 8555 §7.5)', () => {
  const authz = (status: string, challengeExtra: Record<string, unknown> = {}): ScriptedReply => ({
    body: {
      status,
      identifier: { type: 'dns', value: 'a.example' },
      challenges: [{ type: 'http-01', url: server.url('/chall/1'), status: 'pending', token: 't', ...challengeExtra }],
    },
  });

  it('polls while pending and returns the valid authorization', async () => {
    server.on('/authz/1', sequence(authz('pending'), authz('pending'), authz('valid', { status: 'valid' })));
    expect((await client.waitForAuthorization(server.url('/authz/1'))).status).toBe('valid');
    expect(sleeps).toEqual([1_000, 1_000]);
  });

  it('reports a failed authorization with its state and the challenge\'s problem', async () => {
    const caa = { type: 'urn:ietf:params:acme:error:caa', detail: 'CAA forbids issuance' };
    server.on('/authz/1', () => authz('invalid', { status: 'invalid', error: caa }));
    await expect(client.waitForAuthorization(server.url('/authz/1'))).rejects.toMatchObject({
      code: 'ACME.AUTHORIZATION_INVALID',
      state: 'invalid',
      problem: caa,
    });
    server.on('/authz/1', () => authz('expired'));
    await expect(client.waitForAuthorization(server.url('/authz/1'))).rejects.toThrow(/is expired$/);
  });
});

describe('certificate download (RFC 8555 §7.4.2)', () => {
  const validOrder = (): AcmeOrder => ({
    url: server.url('/order/1'),
    status: 'valid',
    identifiers: [{ type: 'TNAuthList', value: 'MAigBhYEODE4SA' }],
    authorizations: [],
    finalize: server.url('/finalize/1'),
    certificate: server.url('/cert/1'),
  });

  it('asks for the PEM chain, splits it and follows rel="alternate" chains', async () => {
    server.on('/cert/1', (request) => ({
      headers: {
        'content-type': 'application/pem-certificate-chain',
        link: `<${server.url('/cert/1/alt')}>;rel="alternate", <${server.url('/dir')}>;rel="index"`,
        'x-shaken-certificate-location': 'https://cr.ca.example/818H/7.pem',
        'x-seen-accept': String(request.headers.accept),
      },
      body: PEM('leaf') + PEM('intermediate'),
    }));
    server.on('/cert/1/alt', () => ({ headers: { 'content-type': 'application/pem-certificate-chain' }, body: PEM('leaf') + PEM('cross') }));

    const download = await client.downloadCertificate(validOrder(), { includeAlternates: true });
    expect(server.postsTo('/cert/1')[0]?.headers.accept).toBe('application/pem-certificate-chain');
    expect(server.postsTo('/cert/1')[0]?.payload).toBeUndefined();
    expect(download.certificates).toEqual([PEM('leaf'), PEM('intermediate')]);
    expect(download.alternateUrls).toEqual([server.url('/cert/1/alt')]);
    expect(download.alternates.map((a) => a.certificates)).toEqual([[PEM('leaf'), PEM('cross')]]);
    expect(download.stiCrUrl).toBe('https://cr.ca.example/818H/7.pem');
  });

  it('prefers the order\'s x5u and does not fetch alternates unless asked', async () => {
    server.on('/cert/1', () => ({
      headers: { 'content-type': 'application/pem-certificate-chain', link: `<${server.url('/cert/1/alt')}>;rel="alternate"` },
      body: PEM('leaf'),
    }));
    const download = await client.downloadCertificate({ ...validOrder(), stiCrUrl: 'https://cr.ca.example/x5u.pem' });
    expect(download.stiCrUrl).toBe('https://cr.ca.example/x5u.pem');
    expect(download.alternates).toEqual([]);
    expect(server.postsTo('/cert/1/alt')).toHaveLength(0);
  });

  it('rejects a download that is not application/pem-certificate-chain', async () => {
    server.on('/cert/1', () => ({ headers: { 'content-type': 'text/html' }, body: '<html></html>' }));
    const error = await client.downloadCertificate(validOrder()).catch((e: unknown) => e);
    expect(isAcmeError(error, 'ACME.PROTOCOL')).toBe(true);
  });

  it('needs an order that has a certificate', async () => {
    await expect(client.downloadCertificate({ ...validOrder(), status: 'processing', certificate: undefined })).rejects.toMatchObject({
      code: 'ACME.INVALID_ARGUMENT',
    });
  });
});

describe('revokeCert (RFC 8555 §7.6)', () => {
  const CERT = Uint8Array.from([0x30, 0x82, 0x01, 0x00, 0xaa]);

  beforeEach(() => {
    server.on('/revoke', () => ({ status: 200 }));
  });

  it('signs with the account kid and sends certificate and reason', async () => {
    await client.revokeCertificate(CERT, { reason: RevocationReason.superseded });
    const [request] = server.postsTo('/revoke');
    expect(request?.kid).toBe(client.accountUrl);
    expect(request?.payload).toEqual({ certificate: Buffer.from(CERT).toString('base64url'), reason: 4 });
  });

  it('signs with the certificate key (jwk) when given', async () => {
    const certificateKey = await newKey();
    await client.revokeCertificate(CERT, { certificateKey });
    const [request] = server.postsTo('/revoke');
    expect(request?.protectedHeader.kid).toBeUndefined();
    const jwk = await webcrypto.subtle.exportKey('jwk', certificateKey.publicKey);
    expect(request?.protectedHeader.jwk).toEqual({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y });
  });

  it('refuses reason 7 (unused in RFC 5280) without contacting the CA', async () => {
    await expect(client.revokeCertificate(CERT, { reason: 7 })).rejects.toMatchObject({ code: 'ACME.INVALID_ARGUMENT' });
    expect(server.postsTo('/revoke')).toHaveLength(0);
  });

  it('maps alreadyRevoked', async () => {
    server.on('/revoke', () => problem(400, 'alreadyRevoked', 'certificate already revoked'));
    await expect(client.revokeCertificate(CERT)).rejects.toMatchObject({ code: 'ACME.ALREADY_REVOKED' });
  });
});

describe('account key rollover (RFC 8555 §7.3.5)', () => {
  it('sends an inner JWS by the new key over {account, oldKey} and signs with the new key afterwards', async () => {
    const oldJwk = { ...server.accounts.get(client.accountUrl as string) };
    const newPair = await newKey();
    server.on('/key-change', async (request) => {
      // The outer JWS was verified by the server with the old key (kid); check the inner one here.
      const inner = request.payload as { protected: string; payload: string; signature: string };
      const header = JSON.parse(Buffer.from(inner.protected, 'base64url').toString()) as Record<string, unknown>;
      const body = JSON.parse(Buffer.from(inner.payload, 'base64url').toString()) as Record<string, unknown>;
      const newJwk = header.jwk as webcrypto.JsonWebKey;
      const key = await webcrypto.subtle.importKey('jwk', newJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      const ok = await webcrypto.subtle.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        key,
        Buffer.from(inner.signature, 'base64url'),
        Buffer.from(`${inner.protected}.${inner.payload}`),
      );
      if (!ok || header.nonce !== undefined || header.url !== server.url('/key-change')) return problem(400, 'malformed', 'inner JWS');
      if (body.account !== request.kid || JSON.stringify(body.oldKey) !== JSON.stringify({ kty: 'EC', crv: 'P-256', x: oldJwk.x, y: oldJwk.y })) {
        return problem(400, 'malformed', 'inner payload');
      }
      server.accounts.set(request.kid as string, newJwk);
      return { status: 200, body: { status: 'valid' } };
    });
    server.on('/acct/1', () => ({ body: { status: 'valid' } }));
    const before = await client.accountKeyFingerprint();

    await client.rolloverKey(newPair);

    // The server now only accepts the new key for this kid; the next request proves we switched.
    expect((await client.getAccount()).status).toBe('valid');
    expect(await client.accountKeyFingerprint()).not.toBe(before);
    expect(server.accounts.get(client.accountUrl as string)?.x).not.toBe(oldJwk.x);
  });

  it('refuses a new key that is not P-256', async () => {
    const p384 = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
    await expect(client.rolloverKey(p384)).rejects.toMatchObject({ code: 'ACME.BAD_ACCOUNT_KEY' });
  });
});

describe('orders list (RFC 8555 §7.1.2.1)', () => {
  it('POST-as-GETs the account, then every page of its orders list, following rel="next"', async () => {
    server.on('/acct/1', () => ({ body: { status: 'valid', orders: server.url('/acct/1/orders') } }));
    server.on('/acct/1/orders', () => ({
      headers: { link: `<${server.url('/acct/1/orders/2')}>;rel="next"` },
      body: { orders: [server.url('/order/1'), server.url('/order/2')] },
    }));
    server.on('/acct/1/orders/2', () => ({ body: { orders: [server.url('/order/3')] } }));
    expect(await client.listOrders()).toEqual([server.url('/order/1'), server.url('/order/2'), server.url('/order/3')]);
    const pages = [...server.postsTo('/acct/1/orders'), ...server.postsTo('/acct/1/orders/2')];
    expect(pages.map((r) => r.payload)).toEqual([undefined, undefined]);
    expect(pages.every((r) => r.kid === server.url('/acct/1'))).toBe(true);
  });

  it('reports an account without an orders URL as unsupported and a malformed list as a protocol error', async () => {
    server.on('/acct/1', sequence({ body: { status: 'valid' } }, { body: { status: 'valid', orders: server.url('/acct/1/orders') } }));
    server.on('/acct/1/orders', () => ({ body: { orders: ['not a url'] } }));
    await expect(client.listOrders()).rejects.toMatchObject({ code: 'ACME.UNSUPPORTED_OPERATION' });
    await expect(client.listOrders()).rejects.toBeInstanceOf(AcmeProtocolError);
  });
});
