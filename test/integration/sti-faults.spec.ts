import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { AcmeErrorCode, type AcmeClient, type AcmeClientEvent, type AcmeOrder, isAcmeError } from '@app/acme';
import {
  buildShakenCsr,
  checkIssuedCertificate,
  generateP256KeyPair,
  parseCertificate,
  parseCertificateChain,
  parseCrl,
  serialHex,
  tnAuthListForSpc,
  type CryptoKeyPair,
} from '@app/shaken';
import { StiPaErrorCode, type StiPaClient, type StiPaClientEvent } from '@app/sti-pa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandboxClients, startSandboxProcess, type SandboxClientOptions, type SandboxProcess } from '../support/sandbox.js';

interface Clients {
  stiPa: StiPaClient;
  acme: AcmeClient;
  close(): Promise<void>;
}

/** Runs the whole procurement and returns what a caller must check before using the certificate. */
async function procure(clients: Clients, spc = '818H'): Promise<{ chainPem: string; keys: CryptoKeyPair; tnAuthList: Uint8Array }> {
  const { acme } = clients;
  await acme.createAccount({ termsOfServiceAgreed: true });
  const tnAuthList = tnAuthListForSpc(spc);
  const order = await acme.createOrder({ identifiers: [{ type: 'TNAuthList', der: tnAuthList }] });
  const keys = await generateP256KeyPair();
  const csr = await buildShakenCsr({ keys, legalName: 'Demo Telecom LLC', spc });
  const download = await acme.downloadCertificate(await acme.finalizeOrder(await authorize(clients, order, spc), csr.der));
  return { chainPem: download.pem, keys, tnAuthList };
}

/** The order to finalize: `order`, or the new one placed after an invalid challenge. */
async function authorize(clients: Clients, order: AcmeOrder, spc: string, onToken?: () => void): Promise<AcmeOrder> {
  const fingerprint = await clients.acme.accountKeyFingerprint();
  return clients.acme.authorizeTkauthOrder({
    order,
    getToken: async () => {
      onToken?.();
      return (await clients.stiPa.requestSpcToken({ ocn: spc, fingerprint })).token;
    },
  });
}

/** Fails the test instead of hanging when `promise` does not settle in time. */
async function settlesWithin<T>(ms: number, promise: Promise<T>): Promise<{ value?: T; error?: unknown; elapsedMs: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms)));
  try {
    const value = await Promise.race([promise, deadline]);
    return { value, elapsedMs: Date.now() - started };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('did not settle')) throw error;
    return { error, elapsedMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe('sandbox fault switches produce the right typed errors in @app/sti-pa and @app/acme', () => {
  let sandbox: SandboxProcess;
  const opened: Clients[] = [];

  async function clients(options: SandboxClientOptions = {}): Promise<Clients> {
    const created = await sandboxClients(sandbox, options);
    opened.push(created);
    return created;
  }

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
  });
  afterEach(async () => {
    await sandbox.adminApi('DELETE', '/faults');
  });
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await sandbox?.stop();
  });

  it('a certificate for the wrong key is caught by the issued-certificate check (CERT.KEY_MISMATCH)', async () => {
    await sandbox.adminApi('POST', '/faults', { wrongKeyCertificate: true });
    const { chainPem, keys, tnAuthList } = await procure(await clients());
    const caList = await (await clients()).stiPa.getCaList();
    await expect(
      checkIssuedCertificate({ chain: chainPem, publicKey: keys.publicKey, tnAuthList, trustAnchors: caList.trustAnchors, now: new Date() }),
    ).rejects.toMatchObject({ code: 'CERT.KEY_MISMATCH' });
  });

  it('a certificate for another SPC is caught by the issued-certificate check (CERT.TN_AUTH_LIST_MISMATCH)', async () => {
    await sandbox.adminApi('POST', '/faults', { otherSpcCertificate: '709J' });
    const { chainPem, keys, tnAuthList } = await procure(await clients());
    const caList = await (await clients()).stiPa.getCaList();
    await expect(
      checkIssuedCertificate({ chain: chainPem, publicKey: keys.publicKey, tnAuthList, trustAnchors: caList.trustAnchors, now: new Date() }),
    ).rejects.toMatchObject({ code: 'CERT.TN_AUTH_LIST_MISMATCH' });
  });

  it('an expired SPC token turns the challenge invalid; the client places two new orders with fresh tokens, then ACME.CHALLENGE_INVALID', async () => {
    await sandbox.adminApi('POST', '/faults', { expiredSpcToken: true });
    const c = await clients();
    await c.acme.createAccount({ termsOfServiceAgreed: true });
    const order = await c.acme.createOrder({ identifiers: [{ type: 'TNAuthList', der: tnAuthListForSpc('818H') }] });
    let tokens = 0;
    const { error } = await settlesWithin(30_000, authorize(c, order, '818H', () => tokens++));
    expect(error).toMatchObject({ code: AcmeErrorCode.CHALLENGE_INVALID });
    expect(JSON.stringify((error as { problem?: unknown }).problem)).toContain('SPC_TOKEN.EXPIRED');
    expect(tokens).toBe(3);
    // RFC 8555 §7.1.6: each invalid order is left alone; every retry is a new order answered once.
    const state = await sandbox.adminApi<{ acme: { orders: { id: string; status: string; challengeAttempts: number[] }[] } }>('GET', '/state');
    const first = state.acme.orders.findIndex((candidate) => order.url.endsWith(candidate.id));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(state.acme.orders.slice(first)).toEqual([1, 2, 3].map(() => expect.objectContaining({ status: 'invalid', challengeAttempts: [1] })));
  });

  it('a 5xx storm at the STI-PA: GETs and login are retried a bounded number of times, then STI_PA.UNAVAILABLE', async () => {
    const events: StiPaClientEvent[] = [];
    const c = await clients({ stiPa: { onEvent: (event) => events.push(event), retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 40 } } });
    await c.stiPa.login();
    await sandbox.adminApi('POST', '/faults', { serverErrorRate: 1, serverErrorScope: 'sti-pa' });
    const caList = await settlesWithin(10_000, c.stiPa.getCaList());
    expect(caList.error).toMatchObject({ code: StiPaErrorCode.UNAVAILABLE, status: 503, attempts: 3 });
    const fingerprint = await c.acme.accountKeyFingerprint();
    const token = await settlesWithin(10_000, c.stiPa.requestSpcToken({ ocn: '818H', fingerprint }));
    expect(token.error).toMatchObject({ code: StiPaErrorCode.UNAVAILABLE, status: 503 });
    const responses = events.flatMap((event) => (event.type === 'response' ? [event.request] : []));
    // One login before the storm, three CA-list attempts, and the token request exactly once.
    expect(responses).toEqual(['login', 'ca-list', 'ca-list', 'ca-list', 'token']);
  });

  it('a 5xx storm at the STI-CA surfaces as ACME.SERVER_ERROR without hanging', async () => {
    await sandbox.adminApi('POST', '/faults', { serverErrorRate: 1, serverErrorScope: 'acme' });
    const { error } = await settlesWithin(10_000, (await clients()).acme.createAccount({ termsOfServiceAgreed: true }));
    expect(isAcmeError(error, AcmeErrorCode.SERVER_ERROR)).toBe(true);
  });

  it('badNonce rejections are retried transparently and the order still completes', async () => {
    await sandbox.adminApi('POST', '/faults', { badNonceRate: 0.5 });
    const events: AcmeClientEvent[] = [];
    // At 50 % a request fails 21 times in a row with probability 5e-7: the retry budget is ample.
    const c = await clients({ acme: { onEvent: (event) => events.push(event), maxBadNonceRetries: 20 } });
    const { chainPem, keys, tnAuthList } = await procure(c);
    const caList = await c.stiPa.getCaList();
    await checkIssuedCertificate({ chain: chainPem, publicKey: keys.publicKey, tnAuthList, trustAnchors: caList.trustAnchors, now: new Date() });
    expect(events.filter((event) => event.type === 'bad-nonce-retry').length).toBeGreaterThan(0);
  });

  it('slow answers become STI_PA.TIMEOUT and ACME.TIMEOUT within the configured deadlines', async () => {
    await sandbox.adminApi('POST', '/faults', { delayMs: 3_000, delayScope: 'all' });
    const c = await clients({
      stiPa: { transport: { trustedCaPem: sandbox.tlsRootPem, requestTimeoutMs: 300 }, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } },
      acme: { transport: { trustedCaPem: sandbox.tlsRootPem, requestTimeoutMs: 300 } },
    });
    const stiPa = await settlesWithin(5_000, c.stiPa.login());
    expect(stiPa.error).toMatchObject({ code: StiPaErrorCode.TIMEOUT, attempts: 2 });
    expect(stiPa.elapsedMs).toBeLessThan(2_000);
    const acme = await settlesWithin(5_000, c.acme.createAccount({ termsOfServiceAgreed: true }));
    expect(isAcmeError(acme.error, AcmeErrorCode.TIMEOUT)).toBe(true);
    expect(acme.elapsedMs).toBeLessThan(2_000);
  });

  it('a revoked CA: the intermediate goes on the STI-PA CRL and the root off the CA list', async () => {
    const c = await clients();
    const { chainPem, keys, tnAuthList } = await procure(c);
    const before = await c.stiPa.getCaList();
    await checkIssuedCertificate({ chain: chainPem, publicKey: keys.publicKey, tnAuthList, trustAnchors: before.trustAnchors, now: new Date() });

    await sandbox.adminApi('POST', '/faults', { revokedCa: true });
    const after = await c.stiPa.getCaList();
    expect(after.trustListPem).toEqual([]);
    expect(after.sequence).toBeGreaterThan(before.sequence);
    await expect(
      checkIssuedCertificate({ chain: chainPem, publicKey: keys.publicKey, tnAuthList, trustAnchors: after.trustAnchors, now: new Date() }),
    ).rejects.toMatchObject({ code: 'CERT.UNTRUSTED_CHAIN' });

    const crl = parseCrl((await c.stiPa.downloadCrl()).der);
    const [, intermediate] = parseCertificateChain(chainPem);
    expect(crl.findRevoked(serialHex(intermediate!))).not.toBeNull();
    const crlSigner = parseCertificate(await readFile(sandbox.paths.stiPaCrlSigner, 'utf8'));
    await expect(
      checkIssuedCertificate({ chain: chainPem, publicKey: keys.publicKey, tnAuthList, trustAnchors: before.trustAnchors, crl: { crl, issuer: crlSigner }, now: new Date() }),
    ).rejects.toMatchObject({ code: 'CERT.REVOKED' });
  });

  it('an STI-PA that refuses logins gives STI_PA.BAD_CREDENTIALS even for the right password', async () => {
    await sandbox.adminApi('POST', '/faults', { refuseStiPaLogin: true });
    await expect((await clients()).stiPa.login()).rejects.toMatchObject({ code: StiPaErrorCode.BAD_CREDENTIALS, status: 401 });
  });

  it('refuses unknown fault switches instead of silently running without the fault', async () => {
    await expect(sandbox.adminApi('POST', '/faults', { badNonceRatio: 0.5 })).rejects.toThrow(/unknown fault switch/);
    await expect(sandbox.adminApi('POST', '/faults', { badNonceRate: 2 })).rejects.toThrow(/from 0 to 1/);
  });
});
