import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcmeClient } from './acme-client.js';
import { AcmeProblemError, AcmeStatusError, type AcmeProblem } from './errors.js';
import { problem, ScriptedAcmeServer, type ScriptedRequest } from './testing/scripted-acme-server.js';

/**
 * tkauth-01 (RFC 9447) against a loopback CA whose challenge outcome is scripted per attempt:
 * the answer must be {"atc": <token>}, and an invalid challenge is retried with a fresh token.
 */

const newKey = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const token = (n: number): string =>
  `${Buffer.from('{"alg":"ES256","typ":"JWT"}').toString('base64url')}.${Buffer.from(`{"jti":"${n}"}`).toString('base64url')}.c2ln${n}`;
const expired: AcmeProblem = { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'SPC token has expired' };

let server: ScriptedAcmeServer;
let client: AcmeClient;
let outcomes: Array<'valid' | 'invalid'>;
let challengeState: { status: string; error?: AcmeProblem };
let authzStatus: string;
let offered: Array<Record<string, unknown>>;
let tokensIssued: string[];

const getToken = async (): Promise<string> => {
  const next = token(tokensIssued.length + 1);
  tokensIssued.push(next);
  return next;
};

function challenge(): Record<string, unknown> {
  return { type: 'tkauth-01', 'tkauth-type': 'atc', token: 'DGyRejmCefe7v4NfDGDKfA', url: server.url('/chall/1'), ...challengeState };
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
  tokensIssued = [];
  challengeState = { status: 'pending' };
  authzStatus = 'pending';
  offered = [];
  server.on('/authz/1', () => ({
    body: {
      status: authzStatus,
      identifier: { type: 'TNAuthList', value: 'MAigBhYEODE4SA' },
      challenges: offered.length > 0 ? offered : [challenge(), { type: 'http-01', url: server.url('/chall/2'), status: 'pending', token: 'x' }],
    },
  }));
  server.on('/chall/1', (request: ScriptedRequest) => {
    if (request.payload !== undefined) {
      // A response (not POST-as-GET): validation starts; the outcome shows on the next read.
      challengeState = { status: 'processing' };
      authzStatus = 'pending';
      return { body: challenge() };
    }
    if (challengeState.status === 'processing') {
      const outcome = outcomes.shift() ?? 'invalid';
      challengeState = outcome === 'valid' ? { status: 'valid' } : { status: 'invalid', error: expired };
      authzStatus = outcome;
    }
    return { body: challenge() };
  });
});

afterEach(async () => {
  await client.close();
  await server.close();
});

const answers = (): unknown[] => server.postsTo('/chall/1').map((r) => r.payload).filter((p) => p !== undefined);

describe('completeTkauthChallenge', () => {
  it('answers with {"atc": <token>} and returns the valid authorization', async () => {
    outcomes = ['valid'];
    const authz = await client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken });
    expect(authz.status).toBe('valid');
    expect(answers()).toEqual([{ atc: tokensIssued[0] }]);
    expect(tokensIssued).toHaveLength(1);
  });

  it('fetches a fresh token and retries after the challenge turns invalid', async () => {
    outcomes = ['invalid', 'valid'];
    const authz = await client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken });
    expect(authz.status).toBe('valid');
    expect(answers()).toEqual([{ atc: token(1) }, { atc: token(2) }]);
  });

  it('stops after two retries (three tokens) with ACME.CHALLENGE_INVALID and the CA\'s problem', async () => {
    outcomes = ['invalid', 'invalid', 'invalid', 'valid'];
    const error = await client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeStatusError);
    expect(error).toMatchObject({ code: 'ACME.CHALLENGE_INVALID', problem: expired, url: server.url('/chall/1') });
    expect(tokensIssued).toHaveLength(3);
    expect(answers()).toHaveLength(3);
    for (const t of tokensIssued) expect((error as Error).message).not.toContain(t);
  });

  it('makes exactly one attempt with maxRetries 0', async () => {
    outcomes = ['invalid', 'valid'];
    await expect(client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken, maxRetries: 0 })).rejects.toMatchObject({
      code: 'ACME.CHALLENGE_INVALID',
    });
    expect(tokensIssued).toHaveLength(1);
  });

  it('does not fetch a token when the authorization is already valid', async () => {
    authzStatus = 'valid';
    const authz = await client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken });
    expect(authz.status).toBe('valid');
    expect(tokensIssued).toHaveLength(0);
  });

  it('says which challenges were offered when tkauth-01 is not among them', async () => {
    offered = [{ type: 'http-01', url: server.url('/chall/2'), status: 'pending', token: 'x' }];
    const error = await client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ACME.CHALLENGE_NOT_OFFERED' });
    expect((error as Error).message).toContain('offered: http-01');
    expect(tokensIssued).toHaveLength(0);
  });

  it('ignores a tkauth-01 challenge for another token type', async () => {
    offered = [{ ...challenge(), 'tkauth-type': 'jwtclaimcon' }];
    await expect(client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken })).rejects.toMatchObject({
      code: 'ACME.CHALLENGE_NOT_OFFERED',
    });
  });

  it('throws a problem answer to the challenge POST as is, without retrying', async () => {
    server.on('/chall/1', () => problem(403, 'unauthorized', 'account is not allowed this SPC'));
    const error = await client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect(error).toMatchObject({ code: 'ACME.UNAUTHORIZED', detail: 'account is not allowed this SPC' });
    expect(tokensIssued).toHaveLength(1);
  });

  it('refuses something that is not a compact JWS from getToken', async () => {
    await expect(
      client.completeTkauthChallenge({ authzUrl: server.url('/authz/1'), getToken: async () => 'not a token' }),
    ).rejects.toMatchObject({ code: 'ACME.INVALID_ARGUMENT' });
    expect(answers()).toHaveLength(0);
  });
});
