import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StiPaError } from './errors.js';
import { StiPaClient } from './sti-pa-client.js';

/**
 * The STI-PA client over real HTTPS on loopback, for answers the sandbox does not give: a
 * redirect, and 403 refusals worded differently from the sandbox's own.
 */

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

class HttpsLoopback {
  readonly received: Array<{ method: string; path: string; body: string }> = [];
  handler: Handler = (_request, _body, response) => void response.writeHead(404).end();
  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(tls: { key: string; cert: string }): Promise<HttpsLoopback> {
    const server = createServer(tls);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const loopback = new HttpsLoopback(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        loopback.received.push({ method: request.method ?? '', path: request.url ?? '', body });
        loopback.handler(request, body, response);
      });
    });
    return loopback;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const PASSWORD = 'correct horse battery staple';
const FINGERPRINT = `SHA256 ${Array.from({ length: 32 }, () => 'AB').join(':')}`;
const json = (response: ServerResponse, status: number, body: unknown): void =>
  void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

let dir: string;
let tls: { key: string; cert: string };
let stiPa: HttpsLoopback;
let elsewhere: HttpsLoopback;
const clients: StiPaClient[] = [];

function client(): StiPaClient {
  const created = new StiPaClient({
    baseUrl: `${stiPa.origin}/api/v1`,
    credentials: { userId: 'api-user', password: PASSWORD },
    transport: { trustedCaPem: tls.cert, requestTimeoutMs: 5_000 },
    retry: { maxAttempts: 1 },
  });
  clients.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<StiPaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StiPaError);
  return error as StiPaError;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sti-pa-transport-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=sti-pa.test', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  tls = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  [stiPa, elsewhere] = await Promise.all([HttpsLoopback.start(tls), HttpsLoopback.start(tls)]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  stiPa.received.length = 0;
  elsewhere.received.length = 0;
});

afterAll(async () => {
  await Promise.all([stiPa?.close(), elsewhere?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('redirects', () => {
  it.each([307, 308, 302])('a %d to the login POST fails with STI_PA.REDIRECT_REFUSED and the password goes nowhere else', async (status) => {
    stiPa.handler = (_request, _body, response) => void response.writeHead(status, { location: `${elsewhere.origin}/api/v1/auth/login` }).end();
    elsewhere.handler = (_request, _body, response) => json(response, 200, { status: 'success', accessToken: 'a', refreshToken: 'r' });
    const error = await failure(client().login());
    expect(error.code).toBe('STI_PA.REDIRECT_REFUSED');
    expect(error.status).toBe(status);
    expect(error.message).toBe(`STI-PA POST /auth/login answered HTTP ${status} redirecting to ${elsewhere.origin}; redirects are not followed`);
    expect(stiPa.received.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v1/auth/login']);
    expect(stiPa.received[0]?.body).toContain(PASSWORD);
    expect(elsewhere.received).toEqual([]);
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(PASSWORD);
  });
});

describe('403 refusals, whatever the STI-PA writes', () => {
  const loginOk = (response: ServerResponse): void => json(response, 200, { status: 'success', accessToken: 'access', refreshToken: 'refresh' });

  it.each([
    ['Forbidden'],
    ['Access denied'],
    ['Request blocked by security policy (ref 8812)'],
    [''],
  ])('a 403 on login worded %j is NOT_ALLOW_LISTED', async (message) => {
    stiPa.handler = (_request, _body, response) => json(response, 403, message === '' ? {} : { status: 'failed', message });
    expect((await failure(client().login())).code).toBe('STI_PA.NOT_ALLOW_LISTED');
  });

  it('a 403 on the CA list is NOT_ALLOW_LISTED too', async () => {
    stiPa.handler = (request, _body, response) => (request.url?.endsWith('/auth/login') ? loginOk(response) : json(response, 403, { message: 'Forbidden' }));
    const stiPaWithRoot = new StiPaClient({
      baseUrl: `${stiPa.origin}/api/v1`,
      credentials: { userId: 'api-user', password: PASSWORD },
      stiPaRootsPem: tls.cert,
      transport: { trustedCaPem: tls.cert },
      retry: { maxAttempts: 1 },
    });
    clients.push(stiPaWithRoot);
    expect((await failure(stiPaWithRoot.getCaList())).code).toBe('STI_PA.NOT_ALLOW_LISTED');
  });

  it.each([
    ['Forbidden'],
    ['OCN 818H is not associated with this account'],
    ['You do not have permission to access this resource'],
  ])('a 403 on the token request worded %j is FORBIDDEN_OCN', async (message) => {
    stiPa.handler = (request, _body, response) => (request.url?.endsWith('/auth/login') ? loginOk(response) : json(response, 403, { status: 'failed', message }));
    expect((await failure(client().requestSpcToken({ ocn: '818H', fingerprint: FINGERPRINT }))).code).toBe('STI_PA.FORBIDDEN_OCN');
  });

  it('a 403 on the token request that names the allow-list is NOT_ALLOW_LISTED', async () => {
    stiPa.handler = (request, _body, response) =>
      request.url?.endsWith('/auth/login') ? loginOk(response) : json(response, 403, { message: 'Source IP 203.0.113.9 is not whitelisted for this API user' });
    expect((await failure(client().requestSpcToken({ ocn: '818H', fingerprint: FINGERPRINT }))).code).toBe('STI_PA.NOT_ALLOW_LISTED');
  });
});
