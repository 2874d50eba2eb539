import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStiCr, stiCrDispatcher } from './fetch-sti-cr.js';

const chain = ['a28d2c246508e2e6.pem', '8a7fb50e95b8c43a.pem']
  .map((f) => readFileSync(new URL(`../lint/fixtures/real-certs/${f}`, import.meta.url), 'utf8'))
  .join('');

let dir: string;
let server: Server;
let base: string;
let tlsCert: string;
let dispatcher: Agent;

/** A self-signed server certificate for 127.0.0.1, made by the openssl binary. */
function makeServerCertificate(into: string): { key: string; cert: string } {
  const keyFile = join(into, 'key.pem');
  const certFile = join(into, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=sti-cr.test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:sti-cr.test',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sti-cr-fetch-'));
  const { key, cert } = makeServerCertificate(dir);
  tlsCert = cert;
  server = createServer({ key, cert }, (req, res) => {
    switch (req.url) {
      case '/good.pem':
        res.writeHead(200, { 'content-type': 'application/pem-certificate-chain', 'cache-control': 'public, max-age=86400' });
        res.end(chain);
        return;
      case '/moved.pem':
        res.writeHead(301, { location: '/good.pem' });
        res.end();
        return;
      case '/big.pem':
        res.writeHead(200, { 'content-type': 'application/pem-certificate-chain' });
        res.end(Buffer.alloc(200_000, 0x41));
        return;
      case '/slow.pem':
        // Never answers: the client's deadline has to end it.
        return;
      default:
        res.writeHead(404);
        res.end('no such certificate');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dispatcher = stiCrDispatcher({ caPem: tlsCert });
});

afterAll(async () => {
  await dispatcher?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('fetchStiCr against a real HTTPS server', () => {
  it('returns status, headers and the body bytes', async () => {
    const res = await fetchStiCr(`${base}/good.pem`, { dispatcher, timeoutMs: 5000 });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pem-certificate-chain');
    expect(Buffer.from(res.body).toString('utf8')).toBe(chain);
    expect(res.truncated).toBe(false);
  });

  it('does not follow redirects', async () => {
    const res = await fetchStiCr(`${base}/moved.pem`, { dispatcher });
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/good.pem');
  });

  it('returns 404 answers instead of throwing', async () => {
    expect((await fetchStiCr(`${base}/nothing.pem`, { dispatcher })).status).toBe(404);
  });

  it('stops reading at maxBytes and says so', async () => {
    const res = await fetchStiCr(`${base}/big.pem`, { dispatcher, maxBytes: 10_000 });
    expect(res.body.length).toBe(10_000);
    expect(res.truncated).toBe(true);
  });

  it('gives up at the deadline with STI_CR.TIMEOUT', async () => {
    const started = Date.now();
    expect(await errorCode(fetchStiCr(`${base}/slow.pem`, { dispatcher, timeoutMs: 300 }))).toBe('STI_CR.TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('fails with STI_CR.FETCH_FAILED when the server certificate is not trusted', async () => {
    const untrusting = stiCrDispatcher();
    try {
      await expect(fetchStiCr(`${base}/good.pem`, { dispatcher: untrusting })).rejects.toMatchObject({
        code: 'STI_CR.FETCH_FAILED',
        message: expect.stringMatching(/self[- ]signed/i),
      });
    } finally {
      await untrusting.close();
    }
  });

  it('fails with STI_CR.FETCH_FAILED when nothing listens, without printing credentials', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const attempt = fetchStiCr(`https://user:hunter2@127.0.0.1:${port}/x.pem`, { dispatcher });
    await expect(attempt).rejects.toMatchObject({ code: 'STI_CR.FETCH_FAILED', message: expect.stringContaining('ECONNREFUSED') });
    await expect(attempt).rejects.not.toMatchObject({ message: expect.stringContaining('hunter2') });
  });

  it('can connect to another address while verifying the x5u host name', async () => {
    const port = (server.address() as AddressInfo).port;
    const redirected = stiCrDispatcher({ caPem: tlsCert, connectTo: { host: '127.0.0.1', port } });
    try {
      const res = await fetchStiCr('https://sti-cr.test:8443/good.pem', { dispatcher: redirected });
      expect(res.status).toBe(200);
      expect(res.url).toBe('https://sti-cr.test:8443/good.pem');
    } finally {
      await redirected.close();
    }
    // The name is still checked: a certificate without it fails.
    const wrongName = stiCrDispatcher({ caPem: tlsCert, connectTo: { host: '127.0.0.1', port } });
    try {
      await expect(fetchStiCr('https://elsewhere.test/good.pem', { dispatcher: wrongName })).rejects.toMatchObject({ code: 'STI_CR.FETCH_FAILED' });
    } finally {
      await wrongName.close();
    }
  });

  it('refuses URLs it cannot fetch with STI_CR.URL_INVALID', async () => {
    expect(await errorCode(fetchStiCr('ftp://127.0.0.1/x.pem'))).toBe('STI_CR.URL_INVALID');
    expect(await errorCode(fetchStiCr('not a url'))).toBe('STI_CR.URL_INVALID');
  });
});
