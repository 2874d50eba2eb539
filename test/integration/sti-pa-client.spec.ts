import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import {
  base64Encode,
  generateP256KeyPair,
  parseCertificate,
  parseCrl,
  parseSpcToken,
  stiPaFingerprint,
  tnAuthListForSpc,
  verifyCrl,
  verifySpcToken,
} from '@app/shaken';
import { StiPaClient, StiPaErrorCode, type StiPaClientEvent, type StiPaClientOptions } from '@app/sti-pa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const DEMO = { userId: 'demo', password: 'demo-password' };

describe('@app/sti-pa against the sandbox STI-PA (real process, HTTPS on loopback)', () => {
  let sandbox: SandboxProcess;
  let fingerprint: string;
  const clients: StiPaClient[] = [];

  function client(overrides: Partial<StiPaClientOptions> = {}, events?: StiPaClientEvent[]): StiPaClient {
    const created = new StiPaClient({
      baseUrl: sandbox.stiPaApi,
      credentials: DEMO,
      stiPaRootsPem: sandbox.stiPaRootPem,
      transport: { trustedCaPem: sandbox.tlsRootPem, requestTimeoutMs: 5_000 },
      retry: { baseDelayMs: 20, maxDelayMs: 50 },
      ...(events ? { onEvent: (event) => events.push(event) } : {}),
      ...overrides,
    });
    clients.push(created);
    return created;
  }

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    fingerprint = await stiPaFingerprint((await generateP256KeyPair()).publicKey);
  });
  afterEach(async () => {
    await sandbox.adminApi('DELETE', '/faults');
    await sandbox.adminApi('POST', '/sti-pa/access', { allowList: [], rateLimitPerMinute: 120, resetCounters: true, allowListMessage: 'IP not allow-listed' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sandbox?.stop();
  });

  it('logs in once and reuses the access token for several token requests', async () => {
    const events: StiPaClientEvent[] = [];
    const stiPa = client({}, events);
    const first = await stiPa.requestSpcToken({ ocn: '818H', fingerprint });
    const second = await stiPa.requestSpcToken({ ocn: '709J', fingerprint, ca: true });
    expect(events.filter((event) => event.type === 'login')).toHaveLength(1);
    expect(first.token).not.toBe(second.token);
    expect(first.crlUrl).toBe(sandbox.stiPaCrl);
    expect(first.crlIssuer).toBe('L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA');
    expect(second.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it('gets tokens in the STI-PA shape: ES256 JWT with x5u, {exp, jti, atc}, no iat or iss, verifiable against the pinned root', async () => {
    const grant = await client().requestSpcToken({ ocn: '818H', fingerprint });
    const parsed = parseSpcToken(grant.token);
    expect(parsed.jws.header).toEqual({ alg: 'ES256', typ: 'JWT', x5u: `${sandbox.baseUrl}/sti-pa/download/v1/certificate/sti-pa-signing.pem` });
    expect(Object.keys(parsed.jws.payload).sort()).toEqual(['atc', 'exp', 'jti']);
    expect(parsed.claims.atc).toEqual({ tktype: 'TNAuthList', tkvalue: base64Encode(tnAuthListForSpc('818H')), ca: false, fingerprint });
    const stiPa = client();
    const verified = await verifySpcToken(grant.token, {
      fetchCertificate: (url) => stiPa.fetchCertificateChain(url),
      trustAnchors: [parseCertificate(sandbox.stiPaRootPem)],
      expected: { tkvalue: tnAuthListForSpc('818H'), fingerprint, ca: false },
      now: new Date(),
    });
    expect(verified.signer.subject).toContain('STI-PA Sandbox Token Signing');
  });

  it('refreshes the access token with the refresh token when it is about to lapse', async () => {
    const events: StiPaClientEvent[] = [];
    let now = Date.now();
    // The client assumes a 3-minute token; it renews 2 minutes before the end.
    const stiPa = client({ accessTokenTtlMs: 3 * 60_000, clock: () => new Date(now) }, events);
    await stiPa.requestSpcToken({ ocn: '818H', fingerprint });
    now += 90_000;
    await stiPa.requestSpcToken({ ocn: '818H', fingerprint });
    const requests = events.flatMap((event) => (event.type === 'response' ? [event.request] : []));
    expect(requests).toEqual(['login', 'token', 'refresh', 'token']);
  });

  it('logs in again once after a 401 (the STI-PA forgot the session in a restart)', async () => {
    const events: StiPaClientEvent[] = [];
    const stiPa = client({}, events);
    await stiPa.requestSpcToken({ ocn: '818H', fingerprint });
    sandbox = await sandbox.restart();
    await stiPa.requestSpcToken({ ocn: '818H', fingerprint });
    expect(events.filter((event) => event.type === 'relogin-after-401')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'login')).toHaveLength(2);
  });

  it('reports a wrong password as STI_PA.BAD_CREDENTIALS without the password in the error', async () => {
    const password = 'not-the-demo-password';
    const error = await client({ credentials: { userId: 'demo', password } }).login().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: StiPaErrorCode.BAD_CREDENTIALS, status: 401 });
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(password);
  });

  it('reports an OCN the API user does not hold as STI_PA.FORBIDDEN_OCN', async () => {
    await sandbox.adminApi('POST', '/users', { userId: 'other-carrier', password: 'other-password', ocns: ['123A'] });
    await expect(client().requestSpcToken({ ocn: '123A', fingerprint })).rejects.toMatchObject({ code: StiPaErrorCode.FORBIDDEN_OCN, status: 403 });
    const other = client({ credentials: { userId: 'other-carrier', password: 'other-password' } });
    await expect(other.requestSpcToken({ ocn: '818H', fingerprint })).rejects.toMatchObject({ code: StiPaErrorCode.FORBIDDEN_OCN });
    expect((await other.requestSpcToken({ ocn: '123A', fingerprint })).token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('reports a source outside the allow-list as STI_PA.NOT_ALLOW_LISTED', async () => {
    await sandbox.adminApi('POST', '/sti-pa/access', { allowList: ['192.0.2.10'] });
    await expect(client().login()).rejects.toMatchObject({ code: StiPaErrorCode.NOT_ALLOW_LISTED, status: 403 });
    await sandbox.adminApi('POST', '/sti-pa/access', { allowList: ['127.0.0.1'] });
    await expect(client().login()).resolves.toBeUndefined();
  });

  it.each(['Forbidden', 'Access denied by policy', ''])('reports the allow-list 403 as NOT_ALLOW_LISTED however it is worded (%j)', async (allowListMessage) => {
    await sandbox.adminApi('POST', '/sti-pa/access', { allowList: ['192.0.2.10'], allowListMessage });
    await expect(client().login()).rejects.toMatchObject({ code: StiPaErrorCode.NOT_ALLOW_LISTED, status: 403 });
  });

  it('reports 429 as STI_PA.RATE_LIMITED with Retry-After, and does not retry the token request', async () => {
    const events: StiPaClientEvent[] = [];
    const stiPa = client({}, events);
    await stiPa.login();
    await sandbox.adminApi('POST', '/sti-pa/access', { rateLimitPerMinute: 2, resetCounters: true });
    await stiPa.requestSpcToken({ ocn: '818H', fingerprint });
    await stiPa.requestSpcToken({ ocn: '818H', fingerprint });
    const error = await stiPa.requestSpcToken({ ocn: '818H', fingerprint }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: StiPaErrorCode.RATE_LIMITED, status: 429 });
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect(events.filter((event) => event.type === 'response' && event.request === 'token')).toHaveLength(3);
  });

  it('rejects a tkvalue that is not the OCN\'s TNAuthList (the STI-PA checks it too)', async () => {
    await expect(client().requestSpcToken({ ocn: '818H', fingerprint, tnAuthList: tnAuthListForSpc('709J') })).rejects.toMatchObject({
      code: StiPaErrorCode.INVALID_ARGUMENT,
    });
    await expect(client().requestSpcToken({ ocn: '818H', fingerprint: 'SHA256 AB' })).rejects.toMatchObject({ code: StiPaErrorCode.INVALID_ARGUMENT });
  });

  it('verifies the CA list against the pinned STI-PA root and refuses it against any other root', async () => {
    const list = await client().getCaList();
    expect(list.trustListPem).toEqual([sandbox.stiCaRootPem]);
    expect(list.sequence).toBeGreaterThanOrEqual(1);
    const pinnedWrong = client({ stiPaRootsPem: sandbox.stiCaRootPem });
    await expect(pinnedWrong.getCaList()).rejects.toMatchObject({ code: StiPaErrorCode.CA_LIST_INVALID });
  });

  it('downloads the STI-PA CRL as DER whose signature verifies with the STI-PA CRL signer', async () => {
    const download = await client().downloadCrl();
    expect(download.url).toBe(sandbox.stiPaCrl);
    const crl = parseCrl(download.der);
    expect(crl.issuer).toBe('L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA');
    await verifyCrl(crl, parseCertificate(await readFile(sandbox.paths.stiPaCrlSigner, 'utf8')), new Date());
  });

  it('refuses plain-http URLs and never disables TLS verification', async () => {
    expect(() => new StiPaClient({ baseUrl: sandbox.stiPaApi.replace('https:', 'http:'), credentials: DEMO })).toThrow(
      expect.objectContaining({ code: StiPaErrorCode.INVALID_ARGUMENT }),
    );
    // Without the sandbox TLS root the system store does not trust the sandbox: a TLS failure, not a silent success.
    const untrusting = client({ transport: { requestTimeoutMs: 5_000 } });
    await expect(untrusting.login()).rejects.toMatchObject({ code: StiPaErrorCode.UNAVAILABLE });
  });
});
