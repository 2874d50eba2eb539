import { webcrypto } from 'node:crypto';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcmeClient, type AcmeClientEvent, type AcmeClientOptions } from './acme-client.js';
import { AcmeNetworkError, AcmeProblemError, AcmeProtocolError, AcmeTimeoutError, isAcmeError } from './errors.js';
import { problem, ScriptedAcmeServer } from './testing/scripted-acme-server.js';

/** Nonces, timeouts, network failures and error mapping, over real loopback HTTP. */

const newKey = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);

let server: ScriptedAcmeServer;
let client: AcmeClient;
let events: AcmeClientEvent[];

async function clientWith(options: Partial<AcmeClientOptions> = {}): Promise<AcmeClient> {
  return new AcmeClient({
    directoryUrl: server.directoryUrl,
    accountKey: await newKey(),
    onEvent: (event) => events.push(event),
    ...options,
  });
}

beforeEach(async () => {
  server = await ScriptedAcmeServer.start();
  events = [];
  client = await clientWith();
});

afterEach(async () => {
  await client.close();
  await server.close();
});

describe('nonces (RFC 8555 §6.5)', () => {
  it('fetches a nonce with HEAD newNonce once, then reuses the Replay-Nonce of each response', async () => {
    server.on('/dir', () => server.directoryReply(true));
    server.on('/acct/1', () => ({ body: { status: 'valid' } }));
    await client.createAccount({ termsOfServiceAgreed: true });
    await client.getAccount();
    await client.getAccount();
    const heads = events.filter((e) => e.type === 'response' && e.method === 'HEAD');
    expect(heads).toHaveLength(1);
    // Every POST carried a distinct nonce the server issued (the server refuses reuse).
    expect(server.usedNonces.size).toBe(server.requests.filter((r) => r.method === 'POST').length);
  });

  it('re-signs with the fresh nonce after badNonce and succeeds', async () => {
    server.rejectNextNonces(2);
    const account = await client.createAccount({ termsOfServiceAgreed: true });
    expect(account.url).toBe(server.url('/acct/1'));
    expect(events.filter((e) => e.type === 'bad-nonce-retry').map((e) => (e.type === 'bad-nonce-retry' ? e.attempt : 0))).toEqual([1, 2]);
  });

  it('gives up after maxBadNonceRetries with the typed badNonce problem', async () => {
    const bounded = await clientWith({ maxBadNonceRetries: 3 });
    server.rejectNextNonces(10);
    const error = await bounded.createAccount().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).code).toBe('ACME.BAD_NONCE');
    // One try plus three retries, then no more requests.
    expect(server.usedNonces.size).toBe(4);
    await bounded.close();
  });
});

describe('transport seam', () => {
  it('sends every request through the injected fetch, with a User-Agent (RFC 8555 §6.1)', async () => {
    const seen: Array<{ method: string; url: string; userAgent: string | undefined }> = [];
    const recording = await clientWith({
      userAgent: 'shaken-clm-test/1',
      transport: {
        fetch: (url, init) => {
          seen.push({ method: init.method, url, userAgent: init.headers['user-agent'] });
          return undiciFetch(url, init);
        },
      },
    });
    await recording.createAccount();
    expect(seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual(['GET /dir', 'POST /new-acct']);
    expect(new Set(seen.map((s) => s.userAgent))).toEqual(new Set(['shaken-clm-test/1']));
  });
});

describe('directory', () => {
  it('is fetched once and cached across requests', async () => {
    await client.createAccount();
    await client.findAccount();
    await client.getDirectory();
    expect(server.directoryFetchCount).toBe(1);
  });

  it('is not cached after a failure', async () => {
    server.on('/dir', () => ({ status: 503, body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } }));
    await expect(client.getDirectory()).rejects.toMatchObject({ code: 'ACME.SERVER_ERROR' });
    server.on('/dir', () => ({ body: { newNonce: server.url('/nonce'), newAccount: server.url('/new-acct'), newOrder: server.url('/o') } }));
    expect((await client.getDirectory()).newOrder).toBe(server.url('/o'));
  });

  it('without the mandatory resources is a protocol error', async () => {
    server.on('/dir', () => ({ body: { newNonce: server.url('/nonce'), newAccount: 'not a url' } }));
    const error = await client.getDirectory().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProtocolError);
    expect((error as Error).message).toContain('newAccount');
  });
});

describe('timeouts and network failures', () => {
  it('aborts a request that gets no answer with ACME.TIMEOUT', async () => {
    const quick = await clientWith({ transport: { requestTimeoutMs: 200 } });
    server.on('/dir', () => ({ hang: true }));
    const started = Date.now();
    const error = await quick.getDirectory().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeTimeoutError);
    expect((error as AcmeTimeoutError).code).toBe('ACME.TIMEOUT');
    expect((error as Error).message).toBe(`ACME GET ${server.directoryUrl} timed out after 200 ms`);
    expect(Date.now() - started).toBeLessThan(2_000);
    await quick.close();
  });

  it('also times out when the headers arrive but the body stalls', async () => {
    const quick = await clientWith({ transport: { requestTimeoutMs: 200 } });
    await quick.createAccount();
    server.on('/acct/1', () => ({ stallBody: true, body: { status: 'valid' } }));
    await expect(quick.getAccount()).rejects.toBeInstanceOf(AcmeTimeoutError);
    await quick.close();
  });

  it('refuses a redirect with ACME.REDIRECT_REFUSED: the signed newAccount POST never reaches the other origin', async () => {
    const elsewhere = await ScriptedAcmeServer.start();
    try {
      server.on('/new-acct', () => ({ status: 307, headers: { location: elsewhere.url('/new-acct') } }));
      const error = await client.createAccount({ termsOfServiceAgreed: true }).catch((e: unknown) => e);
      expect(isAcmeError(error, 'ACME.REDIRECT_REFUSED')).toBe(true);
      expect((error as Error).message).toBe(
        `ACME POST ${server.url('/new-acct')} answered HTTP 307 redirecting to ${elsewhere.url('/new-acct')}; redirects are not followed`,
      );
      expect(server.postsTo('/new-acct')).toHaveLength(1);
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('aborts a response body larger than maxBodyBytes with ACME.RESPONSE_TOO_LARGE', async () => {
    const capped = await clientWith({ transport: { maxBodyBytes: 2_048 } });
    server.on('/dir', () => ({ body: { newNonce: server.url('/nonce'), newAccount: server.url('/new-acct'), newOrder: server.url('/o'), padding: 'x'.repeat(4_096) } }));
    await expect(capped.getDirectory()).rejects.toMatchObject({ code: 'ACME.RESPONSE_TOO_LARGE' });
    await capped.close();
  });

  it('reports an unreachable server as ACME.NETWORK', async () => {
    const closed = await ScriptedAcmeServer.start();
    const url = closed.directoryUrl;
    await closed.close();
    const orphan = new AcmeClient({ directoryUrl: url, accountKey: await newKey() });
    const error = await orphan.getDirectory().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeNetworkError);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});

describe('problem documents (RFC 8555 §6.7)', () => {
  beforeEach(async () => {
    await client.createAccount();
  });

  it('maps rateLimited with Retry-After and keeps type, detail, status', async () => {
    server.on('/new-order', () => ({ ...problem(429, 'rateLimited', 'too many new orders'), headers: { 'retry-after': '30' } }));
    const error = (await client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] }).catch((e: unknown) => e)) as AcmeProblemError;
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect(error).toMatchObject({
      code: 'ACME.RATE_LIMITED',
      type: 'urn:ietf:params:acme:error:rateLimited',
      detail: 'too many new orders',
      status: 429,
      retryAfterMs: 30_000,
    });
  });

  it('keeps subproblems with their identifiers', async () => {
    const sub = { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'SPC not allowed', identifier: { type: 'TNAuthList', value: 'MAigBhYEODE4SA' } };
    server.on('/new-order', () => problem(400, 'compound', 'order refused', { subproblems: [sub] }));
    const error = (await client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] }).catch((e: unknown) => e)) as AcmeProblemError;
    expect(error.code).toBe('ACME.PROBLEM');
    expect(error.subproblems).toEqual([sub]);
  });

  it.each([
    ['unauthorized', 403, 'ACME.UNAUTHORIZED'],
    ['serverInternal', 500, 'ACME.SERVER_ERROR'],
    ['externalAccountRequired', 400, 'ACME.EXTERNAL_ACCOUNT_REQUIRED'],
    ['rejectedIdentifier', 400, 'ACME.REJECTED_IDENTIFIER'],
    ['unsupportedIdentifier', 400, 'ACME.UNSUPPORTED_IDENTIFIER'],
  ])('maps %s (HTTP %d) to %s', async (type, status, code) => {
    server.on('/new-order', () => problem(status, type, `scripted ${type}`));
    await expect(client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] })).rejects.toMatchObject({ code, status });
  });

  it('turns a 5xx without a problem document into ACME.SERVER_ERROR without echoing the body', async () => {
    server.on('/new-order', () => ({ status: 502, body: '<html>upstream secret-looking page</html>', headers: { 'content-type': 'text/html' } }));
    const error = (await client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] }).catch((e: unknown) => e)) as AcmeProblemError;
    expect(error).toMatchObject({ code: 'ACME.SERVER_ERROR', type: 'about:blank', status: 502 });
    expect(error.message).not.toContain('upstream');
  });

  it('treats a success without JSON, or a newOrder without Location, as a protocol error', async () => {
    server.on('/new-order', () => ({ status: 201, body: 'not json', headers: { location: server.url('/order/1') } }));
    await expect(client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] })).rejects.toBeInstanceOf(AcmeProtocolError);
    server.on('/new-order', () => ({
      status: 201,
      body: { status: 'pending', identifiers: [{ type: 'dns', value: 'a.example' }], authorizations: [], finalize: server.url('/fin') },
    }));
    const error = await client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] }).catch((e: unknown) => e);
    expect(isAcmeError(error, 'ACME.PROTOCOL')).toBe(true);
    expect((error as Error).message).toContain('Location');
  });

  it('never puts the account key into errors', async () => {
    server.on('/new-order', () => problem(400, 'malformed', 'bad'));
    const error = (await client.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] }).catch((e: unknown) => e)) as Error;
    const jwk = await webcrypto.subtle.exportKey('jwk', (client as unknown as { accountKey: webcrypto.CryptoKeyPair }).accountKey.privateKey);
    expect(jwk.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(`${error.message} ${error.stack ?? ''} ${JSON.stringify({ ...error })}`).not.toContain(jwk.d as string);
  });
});
