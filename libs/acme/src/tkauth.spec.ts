import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcmeClient } from './acme-client.js';
import { AcmeProblemError, AcmeStatusError, type AcmeProblem } from './errors.js';
import type { AcmeOrder } from './resources.js';
import { problem, ScriptedAcmeServer, type ScriptedRequest } from './testing/scripted-acme-server.js';

/**
 * tkauth-01 (RFC 9447) against a loopback CA whose challenge outcomes are scripted per validation.
 * Like Pebble and Boulder, the scripted CA refuses a response to a challenge that is not `pending`
 * (400 malformed, "Cannot update challenge with status …"): RFC 8555 §7.1.6 makes `invalid` final
 * for the challenge, its authorization and its order, so a retry needs a new order.
 */

const newKey = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const token = (n: number): string =>
  `${Buffer.from('{"alg":"ES256","typ":"JWT"}').toString('base64url')}.${Buffer.from(`{"jti":"${n}"}`).toString('base64url')}.c2ln${n}`;
const expired: AcmeProblem = { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'SPC token has expired' };
const IDENTIFIER = { type: 'TNAuthList', value: 'MAigBhYEODE4SA' };
const NOT_AFTER = '2027-01-01T00:00:00.000Z';

interface ScriptedOrder {
  challenge: { status: string; error?: AcmeProblem };
  authzStatus: string;
}

let server: ScriptedAcmeServer;
let client: AcmeClient;
/** Outcome of each validation, in the order they happen (across orders). */
let outcomes: Array<'valid' | 'invalid'>;
/** Orders by number; order n has /order/n, /authz/n, /chall/n. */
let orders: ScriptedOrder[];
let offered: Array<Record<string, unknown>>;
let tokensIssued: string[];

const getToken = async (): Promise<string> => {
  const next = token(tokensIssued.length + 1);
  tokensIssued.push(next);
  return next;
};

function challenge(n: number): Record<string, unknown> {
  return { type: 'tkauth-01', 'tkauth-type': 'atc', token: 'DGyRejmCefe7v4NfDGDKfA', url: server.url(`/chall/${n}`), ...orders[n - 1]!.challenge };
}

function orderBody(n: number): Record<string, unknown> {
  return {
    status: orders[n - 1]!.authzStatus === 'valid' ? 'ready' : orders[n - 1]!.authzStatus === 'invalid' ? 'invalid' : 'pending',
    identifiers: [IDENTIFIER],
    notAfter: NOT_AFTER,
    authorizations: [server.url(`/authz/${n}`)],
    finalize: server.url(`/order/${n}/finalize`),
  };
}

/** Registers order n's resources on the scripted server. */
function addOrder(): number {
  orders.push({ challenge: { status: 'pending' }, authzStatus: 'pending' });
  const n = orders.length;
  const state = orders[n - 1]!;
  server.on(`/order/${n}`, () => ({ body: orderBody(n) }));
  server.on(`/authz/${n}`, () => ({
    body: {
      status: state.authzStatus,
      identifier: IDENTIFIER,
      challenges: offered.length > 0 ? offered : [challenge(n), { type: 'http-01', url: server.url(`/chall/${n}b`), status: 'pending', token: 'x' }],
    },
  }));
  server.on(`/chall/${n}`, (request: ScriptedRequest) => {
    if (request.payload !== undefined) {
      if (state.challenge.status !== 'pending') {
        return problem(400, 'malformed', `Cannot update challenge with status ${state.challenge.status}, only status pending`);
      }
      // A response (not POST-as-GET): validation starts; the outcome shows on the next read.
      state.challenge = { status: 'processing' };
      return { body: challenge(n) };
    }
    if (state.challenge.status === 'processing') {
      const outcome = outcomes.shift() ?? 'invalid';
      state.challenge = outcome === 'valid' ? { status: 'valid' } : { status: 'invalid', error: expired };
      state.authzStatus = outcome;
    }
    return { body: challenge(n) };
  });
  return n;
}

async function firstOrder(): Promise<AcmeOrder> {
  return client.getOrder(server.url(`/order/${addOrder()}`));
}

beforeEach(async () => {
  server = await ScriptedAcmeServer.start();
  client = new AcmeClient({
    directoryUrl: server.directoryUrl,
    accountKey: await newKey(),
    sleep: async () => undefined,
    polling: { maxAttempts: 5 },
  });
  await client.createAccount({ termsOfServiceAgreed: true });
  outcomes = [];
  orders = [];
  tokensIssued = [];
  offered = [];
  server.on('/new-order', () => {
    const n = addOrder();
    return { status: 201, headers: { location: server.url(`/order/${n}`) }, body: orderBody(n) };
  });
});

afterEach(async () => {
  await client.close();
  await server.close();
});

const answersTo = (n: number): unknown[] => server.postsTo(`/chall/${n}`).map((r) => r.payload).filter((p) => p !== undefined);
const newOrders = (): unknown[] => server.postsTo('/new-order').map((r) => r.payload);

describe('completeTkauthChallenge', () => {
  it('answers with {"atc": <token>} and returns the valid authorization', async () => {
    outcomes = ['valid'];
    const order = await firstOrder();
    const authz = await client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken });
    expect(authz.status).toBe('valid');
    expect(answersTo(1)).toEqual([{ atc: tokensIssued[0] }]);
    expect(tokensIssued).toHaveLength(1);
  });

  it('never answers an invalid challenge again: ACME.CHALLENGE_INVALID with the CA\'s problem, no token fetched', async () => {
    const order = await firstOrder();
    Object.assign(orders[0]!, { challenge: { status: 'invalid', error: expired }, authzStatus: 'invalid' });
    const error = await client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ACME.CHALLENGE_INVALID', problem: expired });
    expect(answersTo(1)).toHaveLength(0);
    expect(tokensIssued).toHaveLength(0);
  });

  it('waits for a challenge already processing instead of answering it again', async () => {
    outcomes = ['valid'];
    const order = await firstOrder();
    orders[0]!.challenge = { status: 'processing' };
    const authz = await client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken });
    expect(authz.status).toBe('valid');
    expect(answersTo(1)).toHaveLength(0);
    expect(tokensIssued).toHaveLength(0);
  });

  it('does not fetch a token when the authorization is already valid', async () => {
    const order = await firstOrder();
    orders[0]!.authzStatus = 'valid';
    const authz = await client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken });
    expect(authz.status).toBe('valid');
    expect(tokensIssued).toHaveLength(0);
  });

  it('says which challenges were offered when tkauth-01 is not among them', async () => {
    const order = await firstOrder();
    offered = [{ type: 'http-01', url: server.url('/chall/1b'), status: 'pending', token: 'x' }];
    const error = await client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ACME.CHALLENGE_NOT_OFFERED' });
    expect((error as Error).message).toContain('offered: http-01');
    expect(tokensIssued).toHaveLength(0);
  });

  it('ignores a tkauth-01 challenge for another token type', async () => {
    const order = await firstOrder();
    offered = [{ ...challenge(1), 'tkauth-type': 'jwtclaimcon' }];
    await expect(client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken })).rejects.toMatchObject({
      code: 'ACME.CHALLENGE_NOT_OFFERED',
    });
  });

  it('throws a problem answer to the challenge POST as is', async () => {
    const order = await firstOrder();
    server.on('/chall/1', () => problem(403, 'unauthorized', 'account is not allowed this SPC'));
    const error = await client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect(error).toMatchObject({ code: 'ACME.UNAUTHORIZED', detail: 'account is not allowed this SPC' });
    expect(tokensIssued).toHaveLength(1);
  });

  it('refuses something that is not a compact JWS from getToken', async () => {
    const order = await firstOrder();
    await expect(
      client.completeTkauthChallenge({ authzUrl: order.authorizations[0]!, getToken: async () => 'not a token' }),
    ).rejects.toMatchObject({ code: 'ACME.INVALID_ARGUMENT' });
    expect(answersTo(1)).toHaveLength(0);
  });
});

describe('authorizeTkauthOrder', () => {
  it('returns the order itself when its challenge turns valid', async () => {
    outcomes = ['valid'];
    const order = await firstOrder();
    const authorized = await client.authorizeTkauthOrder({ order, getToken });
    expect(authorized.url).toBe(order.url);
    expect(newOrders()).toHaveLength(0);
  });

  it('after an invalid challenge places a NEW order (same identifier and validity) and answers it with a fresh token', async () => {
    outcomes = ['invalid', 'valid'];
    const order = await firstOrder();
    const authorized = await client.authorizeTkauthOrder({ order, getToken });
    expect(authorized.url).toBe(server.url('/order/2'));
    expect(authorized.status).toBe('pending');
    expect(newOrders()).toEqual([{ identifiers: [IDENTIFIER], notAfter: NOT_AFTER }]);
    // One answer per challenge: the dead one is never posted to again.
    expect(answersTo(1)).toEqual([{ atc: token(1) }]);
    expect(answersTo(2)).toEqual([{ atc: token(2) }]);
  });

  it('stops after two new orders (three tokens) with ACME.CHALLENGE_INVALID and the CA\'s problem', async () => {
    outcomes = ['invalid', 'invalid', 'invalid', 'valid'];
    const order = await firstOrder();
    const error = await client.authorizeTkauthOrder({ order, getToken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeStatusError);
    expect(error).toMatchObject({ code: 'ACME.CHALLENGE_INVALID', problem: expired, url: server.url('/chall/3') });
    expect(tokensIssued).toHaveLength(3);
    expect(newOrders()).toHaveLength(2);
    for (const n of [1, 2, 3]) expect(answersTo(n)).toHaveLength(1);
    for (const t of tokensIssued) expect((error as Error).message).not.toContain(t);
  });

  it('makes exactly one attempt with maxRetries 0, and uses a caller-supplied reorder', async () => {
    outcomes = ['invalid', 'valid'];
    const order = await firstOrder();
    await expect(client.authorizeTkauthOrder({ order, getToken, maxRetries: 0 })).rejects.toMatchObject({ code: 'ACME.CHALLENGE_INVALID' });
    expect(tokensIssued).toHaveLength(1);
    expect(newOrders()).toHaveLength(0);

    outcomes = ['valid'];
    const placed: string[] = [];
    const replacement = await firstOrder();
    Object.assign(orders[0]!, { challenge: { status: 'invalid', error: expired }, authzStatus: 'invalid' });
    const authorized = await client.authorizeTkauthOrder({
      order: await client.getOrder(order.url),
      getToken,
      reorder: async () => (placed.push(replacement.url), replacement),
    });
    expect(placed).toEqual([replacement.url]);
    expect(authorized.url).toBe(replacement.url);
  });

  it('does not retry other failures (a refused answer is not an invalid challenge)', async () => {
    const order = await firstOrder();
    server.on('/chall/1', () => problem(403, 'unauthorized', 'account is not allowed this SPC'));
    await expect(client.authorizeTkauthOrder({ order, getToken })).rejects.toMatchObject({ code: 'ACME.UNAUTHORIZED' });
    expect(newOrders()).toHaveLength(0);
  });

  it('refuses a negative maxRetries', async () => {
    const order = await firstOrder();
    await expect(client.authorizeTkauthOrder({ order, getToken, maxRetries: -1 })).rejects.toMatchObject({ code: 'ACME.INVALID_ARGUMENT' });
  });
});
