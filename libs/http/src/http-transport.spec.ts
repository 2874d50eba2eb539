import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransportError } from './errors.js';
import { HttpTransport, type HttpTransportOptions } from './http-transport.js';

/** A loopback server that records what reached it, including whether each request's socket closed early. */
class LoopbackServer {
  readonly received: Array<{ method: string; url: string; body: string; headers: IncomingMessage['headers'] }> = [];
  readonly closedSockets: string[] = [];
  private constructor(
    readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(
    handler: (request: IncomingMessage, response: ServerResponse) => void,
    tls?: { key: string; cert: string },
  ): Promise<LoopbackServer> {
    const server = tls ? createHttpsServer(tls) : createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const loopback = new LoopbackServer(server, origin);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        loopback.received.push({ method: request.method ?? '', url: request.url ?? '', body: Buffer.concat(chunks).toString(), headers: request.headers });
        response.on('close', () => {
          if (!response.writableFinished) loopback.closedSockets.push(request.url ?? '');
        });
        handler(request, response);
      });
    });
    return loopback;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const servers: LoopbackServer[] = [];
const transports: HttpTransport[] = [];

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void, tls?: { key: string; cert: string }) {
  const server = await LoopbackServer.start(handler, tls);
  servers.push(server);
  return server;
}

function transport(options: HttpTransportOptions = {}): HttpTransport {
  const created = new HttpTransport(options, { userAgent: 'shaken-clm-http-test/1', requestTimeoutMs: 5_000, maxBodyBytes: 1024 });
  transports.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<HttpTransportError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpTransportError);
  return error as HttpTransportError;
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('redirects', () => {
  it.each([301, 302, 303, 307, 308])('refuses a %d to a POST without sending the body on', async (status) => {
    const elsewhere = await serve((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    const first = await serve((_request, response) => response.writeHead(status, { location: `${elsewhere.origin}/auth/login?x=1` }).end());
    const error = await failure(transport().request('POST', `${first.origin}/auth/login`, { 'content-type': 'application/json' }, '{"password":"s3cret"}'));
    expect(error.code).toBe('HTTP.REDIRECT_REFUSED');
    expect(error.details).toMatchObject({ status, location: `${elsewhere.origin}/auth/login` });
    expect(error.message).toBe(`POST ${first.origin}/auth/login answered HTTP ${status} redirecting to ${elsewhere.origin}/auth/login; redirects are not followed`);
    expect(first.received).toHaveLength(1);
    expect(elsewhere.received).toEqual([]);
  });

  it('refuses an answer that a caller-supplied fetch reached by following a redirect itself', async () => {
    const server = await serve((_request, response) => response.writeHead(200).end('ok'));
    const following = transport({
      fetch: async (url, init) => ({ ...(await undiciFetch(url, { ...init, redirect: 'manual' })), status: 200, redirected: true, headers: new Headers(), body: null }),
    });
    expect((await failure(following.request('GET', `${server.origin}/x`))).code).toBe('HTTP.REDIRECT_REFUSED');
  });
});

describe('body size cap', () => {
  it('aborts the transfer once the body passes the cap, without waiting for its end', async () => {
    // Sends more than the cap, then never ends the body: a reader that buffers first would hang
    // until the deadline (HTTP.TIMEOUT) instead.
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.write(Buffer.alloc(600, 0x41));
      setTimeout(() => response.write(Buffer.alloc(600, 0x42)), 20);
    });
    const started = Date.now();
    const error = await failure(transport({ requestTimeoutMs: 4_000 }).request('GET', `${server.origin}/big`));
    expect(error.code).toBe('HTTP.BODY_TOO_LARGE');
    expect(error.message).toBe(`GET ${server.origin}/big answered with more than 1024 bytes`);
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect.poll(() => server.closedSockets).toEqual(['/big']);
  });

  it('refuses a declared Content-Length above the cap before reading', async () => {
    const server = await serve((_request, response) => response.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000)));
    expect((await failure(transport().request('GET', `${server.origin}/declared`))).code).toBe('HTTP.BODY_TOO_LARGE');
  });

  it('accepts a body of exactly the cap, in several chunks', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200);
      response.write(Buffer.alloc(512, 1));
      setTimeout(() => response.end(Buffer.alloc(512, 2)), 10);
    });
    const result = await transport().request('GET', `${server.origin}/exact`);
    expect(result.body.byteLength).toBe(1024);
    expect(result.body[0]).toBe(1);
    expect(result.body[1023]).toBe(2);
  });
});

describe('deadline and network failures', () => {
  it('ends a request that gets no answer with HTTP.TIMEOUT', async () => {
    const server = await serve(() => undefined);
    const started = Date.now();
    const error = await failure(transport({ requestTimeoutMs: 200 }).request('GET', `${server.origin}/hang?token=abc`));
    expect(error.code).toBe('HTTP.TIMEOUT');
    // The query is not repeated in messages (it could carry something the caller did not mean to log).
    expect(error.message).toBe(`GET ${server.origin}/hang timed out after 200 ms`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('also times out when the headers arrive but the body stalls', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200);
      response.write('{"status":');
    });
    expect((await failure(transport({ requestTimeoutMs: 200 }).request('GET', `${server.origin}/stall`))).code).toBe('HTTP.TIMEOUT');
  });

  it('reports an unreachable server as HTTP.NETWORK with the socket reason', async () => {
    const closed = await serve(() => undefined);
    const url = `${closed.origin}/x`;
    await closed.close();
    servers.splice(servers.indexOf(closed), 1);
    const error = await failure(transport().request('GET', url));
    expect(error.code).toBe('HTTP.NETWORK');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('refuses unusable options', () => {
    expect(() => transport({ requestTimeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'HTTP.INVALID_ARGUMENT' }));
    expect(() => transport({ maxBodyBytes: -1 })).toThrow(expect.objectContaining({ code: 'HTTP.INVALID_ARGUMENT' }));
  });
});

describe('TLS', () => {
  let dir: string;
  let tls: { key: string; cert: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'http-transport-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=loopback.test', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    tls = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trusts exactly the given roots and always verifies the server certificate', async () => {
    const server = await serve((request, response) => response.writeHead(200).end(`hello ${request.headers['user-agent']}`), tls);
    const trusting = await transport({ trustedCaPem: tls.cert }).request('GET', `${server.origin}/`);
    expect(Buffer.from(trusting.body).toString()).toBe('hello shaken-clm-http-test/1');
    const error = await failure(transport().request('GET', `${server.origin}/`));
    expect(error.code).toBe('HTTP.NETWORK');
    expect(error.message).toMatch(/self[- ]signed/i);
  });
});
