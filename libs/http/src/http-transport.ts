import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { HttpErrorCode, HttpTransportError, describeNetworkCause, redactUrl } from './errors.js';

/**
 * The one HTTP transport of the STI clients (ACME and STI-PA): a `fetch`-shaped seam so callers
 * and tests can swap what carries the bytes, plus the rules both protocols need from it:
 *
 * - one deadline per request covering connect, headers and the whole body;
 * - no redirects: RFC 8555 defines none and the STI-PA sends none, and following a 307/308 would
 *   re-send a POST body (the STI-PA password, a signed JWS) to whatever origin the answer names;
 * - the body is read as a stream and the transfer is aborted as soon as it passes `maxBodyBytes`;
 * - TLS is always verified: `trustedCaPem` replaces the system roots, nothing switches checks off.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST';

export interface HttpRequest {
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Always 'manual': a 3xx comes back as a response, and the transport refuses it. */
  redirect: 'manual';
}

/** The part of a fetch `Response` the transport reads. */
export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** The body as a stream (what undici's fetch returns); null for no body. */
  body: ReadableStream<Uint8Array> | null;
  /** Set by fetch implementations that followed a redirect on their own. */
  redirected?: boolean;
}

export type HttpFetch = (url: string, init: HttpRequest) => Promise<HttpResponse>;

export interface HttpTransportOptions {
  /** Base fetch function. Default: undici's fetch with `dispatcher`. */
  fetch?: HttpFetch;
  /** undici dispatcher for the default fetch (proxy, connection limits). */
  dispatcher?: Dispatcher;
  /**
   * PEM certificates to trust for the server's TLS instead of the system store (a sandbox, a
   * private test CA). The transport then owns an undici Agent and closes it in `close()`.
   */
  trustedCaPem?: string | string[];
  /** Deadline per request in ms. */
  requestTimeoutMs?: number;
  /** Largest response body accepted, in bytes. */
  maxBodyBytes?: number;
}

export interface HttpResult {
  status: number;
  headers: { get(name: string): string | null };
  body: Uint8Array;
}

export interface HttpTransportDefaults {
  userAgent: string;
  requestTimeoutMs: number;
  maxBodyBytes: number;
}

export class HttpTransport {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  private readonly fetchFn: HttpFetch;
  private readonly ownedAgent: Agent | undefined;
  private readonly userAgent: string;

  constructor(options: HttpTransportOptions, defaults: HttpTransportDefaults) {
    this.timeoutMs = options.requestTimeoutMs ?? defaults.requestTimeoutMs;
    this.maxBodyBytes = options.maxBodyBytes ?? defaults.maxBodyBytes;
    if (!(this.timeoutMs > 0) || !Number.isFinite(this.timeoutMs)) {
      throw new HttpTransportError(HttpErrorCode.INVALID_ARGUMENT, 'requestTimeoutMs must be a positive number');
    }
    if (!Number.isSafeInteger(this.maxBodyBytes) || this.maxBodyBytes <= 0) {
      throw new HttpTransportError(HttpErrorCode.INVALID_ARGUMENT, 'maxBodyBytes must be a positive integer');
    }
    this.userAgent = defaults.userAgent;
    if (options.fetch) {
      this.fetchFn = options.fetch;
    } else {
      const dispatcher =
        options.dispatcher ??
        (options.trustedCaPem !== undefined ? (this.ownedAgent = new Agent({ connect: { ca: options.trustedCaPem } })) : undefined);
      this.fetchFn = (url, init) => undiciFetch(url, { ...init, dispatcher });
    }
  }

  /**
   * One exchange. Any non-3xx status is returned; a 3xx throws `HTTP.REDIRECT_REFUSED`, the
   * deadline `HTTP.TIMEOUT`, an oversized body `HTTP.BODY_TOO_LARGE`, anything on the way
   * (DNS, TCP, TLS) `HTTP.NETWORK`. HEAD answers are returned with an empty body.
   */
  async request(method: HttpMethod, url: string, headers: Record<string, string> = {}, body?: string): Promise<HttpResult> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const shown = redactUrl(url);
    try {
      const init: HttpRequest = { method, headers: { 'user-agent': this.userAgent, ...headers }, signal: controller.signal, redirect: 'manual' };
      if (body !== undefined) init.body = body;
      const response = await this.fetchFn(url, init);
      if ((response.status >= 300 && response.status < 400) || response.redirected === true) {
        controller.abort();
        const location = response.headers.get('location');
        const target = location !== null && URL.canParse(location, url) ? redactUrl(new URL(location, url).href) : undefined;
        throw new HttpTransportError(
          HttpErrorCode.REDIRECT_REFUSED,
          `${method} ${shown} answered HTTP ${response.status}${target ? ` redirecting to ${target}` : ''}; redirects are not followed`,
          { method, url: shown, status: response.status, ...(target ? { location: target } : {}) },
        );
      }
      const bytes = method === 'HEAD' ? new Uint8Array(0) : await this.readBody(response, controller, method, shown);
      return { status: response.status, headers: response.headers, body: bytes };
    } catch (error) {
      if (error instanceof HttpTransportError) throw error;
      if (timedOut) {
        throw new HttpTransportError(HttpErrorCode.TIMEOUT, `${method} ${shown} timed out after ${this.timeoutMs} ms`, {
          method,
          url: shown,
          timeoutMs: this.timeoutMs,
        });
      }
      throw new HttpTransportError(HttpErrorCode.NETWORK, `${method} ${shown} failed: ${describeNetworkCause(error)}`, {
        method,
        url: shown,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.ownedAgent?.close();
  }

  /** Reads the body chunk by chunk; past the cap the transfer is aborted, not finished. */
  private async readBody(response: HttpResponse, controller: AbortController, method: HttpMethod, shown: string): Promise<Uint8Array> {
    const tooLarge = (): HttpTransportError => {
      controller.abort();
      return new HttpTransportError(HttpErrorCode.BODY_TOO_LARGE, `${method} ${shown} answered with more than ${this.maxBodyBytes} bytes`, {
        method,
        url: shown,
        status: response.status,
        maxBodyBytes: this.maxBodyBytes,
      });
    };
    const declared = response.headers.get('content-length');
    if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > this.maxBodyBytes) throw tooLarge();
    if (response.body === null) return new Uint8Array(0);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > this.maxBodyBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge();
        }
        chunks.push(value);
      }
    } finally {
      reader.releaseLock();
    }
    const body = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return body;
  }
}
