import { describe, expect, it } from 'vitest';
import { StiPaError, StiPaErrorCode } from './errors.js';
import { StiPaSession, type SessionApi, type SessionTokens, type StiPaCredentials } from './session.js';

/** A SessionApi that records calls and answers from a script. */
function scriptedApi(script: { login?: () => Promise<SessionTokens>; refresh?: () => Promise<SessionTokens> } = {}) {
  const calls: string[] = [];
  let n = 0;
  const api: SessionApi = {
    login: async (credentials: StiPaCredentials) => {
      calls.push(`login:${credentials.userId}`);
      return script.login ? script.login() : { accessToken: `access-${++n}`, refreshToken: `refresh-${n}` };
    },
    refresh: async (refreshToken: string) => {
      calls.push(`refresh:${refreshToken}`);
      return script.refresh ? script.refresh() : { accessToken: `access-${++n}`, refreshToken: `refresh-${n}` };
    },
  };
  return { api, calls };
}

const credentials = { userId: 'api-user', password: 'secret-password' };
const options = { accessTokenTtlMs: 60 * 60_000, renewBeforeMs: 2 * 60_000 };

describe('StiPaSession', () => {
  it('logs in once for concurrent callers and reuses the token until shortly before it lapses', async () => {
    let now = 0;
    const { api, calls } = scriptedApi();
    const session = new StiPaSession(api, credentials, () => new Date(now), options);
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(new Set(tokens)).toEqual(new Set(['access-1']));
    now = 57 * 60_000;
    expect(await session.accessToken()).toBe('access-1');
    now = 59 * 60_000;
    expect(await session.accessToken()).toBe('access-2');
    expect(calls).toEqual(['login:api-user', 'refresh:refresh-1']);
  });

  it('uses the exp of a JWT access token instead of the assumed lifetime', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const exp = now / 1000 + 10 * 60;
    const jwt = `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.c2ln`;
    const { api, calls } = scriptedApi({ login: async () => ({ accessToken: jwt, refreshToken: 'r' }) });
    const session = new StiPaSession(api, credentials, () => new Date(now), options);
    await session.accessToken();
    now += 9 * 60_000;
    await session.accessToken();
    expect(calls).toEqual(['login:api-user', 'refresh:r']);
  });

  it('logs in again when the refresh token is refused, but not when the STI-PA is down', async () => {
    let now = 0;
    let refusal: StiPaError = new StiPaError(StiPaErrorCode.BAD_CREDENTIALS, 'refresh token expired');
    const { api, calls } = scriptedApi({ refresh: async () => Promise.reject(refusal) });
    const session = new StiPaSession(api, credentials, () => new Date(now), options);
    await session.accessToken();
    now = 59 * 60_000;
    expect(await session.accessToken()).toBe('access-2');
    expect(calls).toEqual(['login:api-user', 'refresh:refresh-1', 'login:api-user']);
    refusal = new StiPaError(StiPaErrorCode.UNAVAILABLE, 'down');
    now = 2 * 59 * 60_000;
    await expect(session.accessToken()).rejects.toMatchObject({ code: StiPaErrorCode.UNAVAILABLE });
  });

  it('forgets a token the STI-PA rejected, unless another caller already replaced it', async () => {
    const { api, calls } = scriptedApi();
    const session = new StiPaSession(api, credentials, () => new Date(0), options);
    const first = await session.accessToken();
    session.invalidate('some-older-token');
    expect(await session.accessToken()).toBe(first);
    session.invalidate(first);
    expect(await session.accessToken()).toBe('access-2');
    expect(calls).toEqual(['login:api-user', 'login:api-user']);
  });

  it('reads credentials from a function only when it must log in, and refuses empty ones', async () => {
    let reads = 0;
    const { api } = scriptedApi();
    const session = new StiPaSession(api, async () => (reads++, credentials), () => new Date(0), options);
    await session.accessToken();
    await session.accessToken();
    expect(reads).toBe(1);
    const empty = new StiPaSession(api, { userId: '', password: '' }, () => new Date(0), options);
    await expect(empty.accessToken()).rejects.toMatchObject({ code: StiPaErrorCode.INVALID_ARGUMENT });
  });
});
