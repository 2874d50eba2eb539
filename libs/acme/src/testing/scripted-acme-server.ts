import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A small ACME server on real loopback HTTP for the client's unit tests of conditions Pebble cannot
 * produce (timeouts, Retry-After, malformed answers, tkauth-01, SHAKEN headers). It is strict where
 * the client's correctness is at stake: every POST must be a flattened JWS with an unused nonce we
 * issued, the exact request URL, and a valid ES256 signature by the account's (or embedded) key.
 * Test-only: nothing in src/ imports it.
 */

export interface ScriptedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Decoded protected header of the JWS (POST only). */
  protectedHeader: Record<string, unknown>;
  /** Decoded payload; undefined for POST-as-GET (empty payload). */
  payload: unknown;
  /** Account URL the request was signed for (kid), if any. */
  kid?: string;
}

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON (problem+json when status >= 400 and the body has a `type`). */
  body?: unknown;
  /** Never answer (the client's timeout must fire). */
  hang?: boolean;
  /** Send headers, then stall the body forever. */
  stallBody?: boolean;
  /** Leave out the Replay-Nonce header. */
  noNonce?: boolean;
}

export type ScriptedHandler = (request: ScriptedRequest) => ScriptedReply | Promise<ScriptedReply>;

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export class ScriptedAcmeServer {
  readonly requests: ScriptedRequest[] = [];
  readonly issuedNonces = new Set<string>();
  readonly usedNonces = new Set<string>();
  /** Account URL → public JWK. */
  readonly accounts = new Map<string, webcrypto.JsonWebKey>();
  private readonly handlers = new Map<string, ScriptedHandler>();
  private badNoncesToSend = 0;
  private directoryFetches = 0;
  private readonly openResponses = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<ScriptedAcmeServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const instance = new ScriptedAcmeServer(server, `http://127.0.0.1:${port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void instance.handle(req, res));
    instance.installDefaults();
    return instance;
  }

  get directoryUrl(): string {
    return this.url('/dir');
  }

  get directoryFetchCount(): number {
    return this.directoryFetches;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Replace or add the handler for POSTs (or GETs) to `path`. */
  on(path: string, handler: ScriptedHandler): void {
    this.handlers.set(path, handler);
  }

  /** The next `count` POSTs are answered with badNonce, as RFC 8555 §6.5 describes. */
  rejectNextNonces(count: number): void {
    this.badNoncesToSend = count;
  }

  postsTo(path: string): ScriptedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === path);
  }

  async close(): Promise<void> {
    for (const res of this.openResponses) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The standard directory; `noNonce` leaves out Replay-Nonce so the client must use newNonce. */
  directoryReply(noNonce = false): ScriptedReply {
    this.directoryFetches += 1;
    return {
      noNonce,
      body: {
        newNonce: this.url('/nonce'),
        newAccount: this.url('/new-acct'),
        newOrder: this.url('/new-order'),
        revokeCert: this.url('/revoke'),
        keyChange: this.url('/key-change'),
        meta: { externalAccountRequired: false },
      },
    };
  }

  private installDefaults(): void {
    this.on('/dir', () => this.directoryReply());
    this.on('/new-acct', (request) => {
      const jwk = request.protectedHeader.jwk as webcrypto.JsonWebKey;
      const existing = [...this.accounts].find(([, key]) => key.x === jwk.x && key.y === jwk.y);
      if (existing) return { status: 200, headers: { location: existing[0] }, body: { status: 'valid' } };
      if ((request.payload as { onlyReturnExisting?: unknown } | undefined)?.onlyReturnExisting === true) {
        return problem(400, 'accountDoesNotExist', 'no account for this key');
      }
      const url = this.url(`/acct/${this.accounts.size + 1}`);
      this.accounts.set(url, jwk);
      return { status: 201, headers: { location: url }, body: { status: 'valid' } };
    });
  }

  private nonce(): string {
    const nonce = randomBytes(16).toString('base64url');
    this.issuedNonces.add(nonce);
    return nonce;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.openResponses.add(res);
    res.on('close', () => this.openResponses.delete(res));
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');

    if (req.method === 'HEAD' && path === '/nonce') {
      res.writeHead(200, { 'replay-nonce': this.nonce(), 'cache-control': 'no-store' }).end();
      return;
    }
    const request: ScriptedRequest = { method: req.method ?? 'GET', path, headers: req.headers, protectedHeader: {}, payload: undefined };
    if (req.method === 'POST') {
      const rejection = await this.verify(request, raw, `${this.origin}${req.url ?? ''}`);
      if (rejection) return this.send(res, rejection);
    }
    this.requests.push(request);
    const handler = this.handlers.get(path);
    if (!handler) return this.send(res, problem(404, 'malformed', `no resource at ${path}`));
    this.send(res, await handler(request));
  }

  /** RFC 8555 §6.2–6.5 checks; returns a problem reply, or undefined when the JWS is acceptable. */
  private async verify(request: ScriptedRequest, raw: string, requestUrl: string): Promise<ScriptedReply | undefined> {
    if (request.headers['content-type'] !== 'application/jose+json') return problem(415, 'malformed', 'Content-Type must be application/jose+json');
    let jws: { protected?: string; payload?: string; signature?: string };
    try {
      jws = JSON.parse(raw) as typeof jws;
    } catch {
      return problem(400, 'malformed', 'body is not JSON');
    }
    if (typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') {
      return problem(400, 'malformed', 'not a flattened JWS');
    }
    const header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
    request.protectedHeader = header;
    if (header.alg !== 'ES256') return problem(400, 'badSignatureAlgorithm', 'only ES256');
    if (header.url !== requestUrl) return problem(401, 'unauthorized', 'JWS url does not match the request URL');
    const nonce = header.nonce;
    if (typeof nonce !== 'string' || !this.issuedNonces.has(nonce) || this.usedNonces.has(nonce)) {
      return problem(400, 'badNonce', 'unknown or reused nonce');
    }
    this.usedNonces.add(nonce);
    if (this.badNoncesToSend > 0) {
      this.badNoncesToSend -= 1;
      return problem(400, 'badNonce', 'scripted badNonce');
    }
    if ((header.jwk === undefined) === (header.kid === undefined)) return problem(400, 'malformed', 'exactly one of jwk and kid');
    let jwk: webcrypto.JsonWebKey | undefined;
    if (header.kid !== undefined) {
      jwk = this.accounts.get(String(header.kid));
      if (!jwk) return problem(400, 'accountDoesNotExist', 'unknown kid');
      request.kid = String(header.kid);
    } else {
      jwk = header.jwk as webcrypto.JsonWebKey;
    }
    const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const ok = await webcrypto.subtle.verify(
      ES256,
      key,
      Buffer.from(jws.signature, 'base64url'),
      Buffer.from(`${jws.protected}.${jws.payload}`, 'utf8'),
    );
    if (!ok) return problem(400, 'malformed', 'JWS signature does not verify');
    request.payload = jws.payload === '' ? undefined : (JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as unknown);
    return undefined;
  }

  private send(res: ServerResponse, reply: ScriptedReply): void {
    if (reply.hang) return;
    const status = reply.status ?? 200;
    const headers: Record<string, string> = { ...(reply.noNonce ? {} : { 'replay-nonce': this.nonce() }), ...reply.headers };
    let body = '';
    if (typeof reply.body === 'string') {
      body = reply.body;
    } else if (reply.body !== undefined) {
      body = JSON.stringify(reply.body);
      headers['content-type'] ??=
        status >= 400 && typeof (reply.body as { type?: unknown }).type === 'string' ? 'application/problem+json' : 'application/json';
    }
    if (reply.stallBody) {
      res.writeHead(status, { ...headers, 'content-length': String(body.length + 100) });
      res.write(body);
      return;
    }
    res.writeHead(status, headers).end(body);
  }
}

/** An RFC 8555 §6.7 problem reply. */
export function problem(status: number, type: string, detail: string, extra: Record<string, unknown> = {}): ScriptedReply {
  return { status, body: { type: `urn:ietf:params:acme:error:${type}`, detail, status, ...extra } };
}
