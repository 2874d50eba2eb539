import { parseRetryAfter } from '@app/http';
import { AcmeErrorCode, AcmeProblemError, AcmeProtocolError } from './errors.js';
import { AcmeHttp, type AcmeTransportOptions, type HttpResult } from './http.js';
import { exportPublicJwk, signEs256, type AcmeProtectedHeader, type CryptoKeyPair, type SubtleCrypto } from './jws.js';
import { NoncePool } from './nonce-pool.js';
import { parseDirectory, parseProblem, type AcmeDirectory } from './resources.js';

/**
 * The request layer of RFC 8555 (§6): the cached directory, the nonce pool, JWS-signed POSTs with
 * bounded badNonce retries, and turning error responses into typed problems. It knows nothing of
 * accounts or orders; the client above it says which key signs and how (`kid` or `jwk`).
 */

export type AcmeClientEvent =
  | { type: 'response'; method: string; url: string; status: number; durationMs: number }
  | { type: 'bad-nonce-retry'; url: string; attempt: number };

/** How a POST is signed: by the account (`kid`, RFC 8555 §6.2) or with the key embedded (`jwk`). */
export type AcmeSigner = { kind: 'kid'; kid: string; keyPair: CryptoKeyPair } | { kind: 'jwk'; keyPair: CryptoKeyPair };

export interface AcmeRequesterOptions {
  directoryUrl: string;
  transport: AcmeTransportOptions;
  userAgent: string;
  clock: () => Date;
  maxBadNonceRetries: number;
  subtle: SubtleCrypto;
  onEvent: ((event: AcmeClientEvent) => void) | undefined;
}

const JOSE_JSON = 'application/jose+json';

export class AcmeRequester {
  private directory: Promise<AcmeDirectory> | undefined;
  private readonly nonces = new NoncePool();
  private readonly http: AcmeHttp;

  constructor(private readonly options: AcmeRequesterOptions) {
    this.http = new AcmeHttp(options.transport, options.userAgent);
  }

  /** Fetched once and cached (RFC 8555 §7.1.1); a failed fetch is not cached. */
  getDirectory(): Promise<AcmeDirectory> {
    this.directory ??= this.fetchDirectory().catch((error: unknown) => {
      this.directory = undefined;
      throw error;
    });
    return this.directory;
  }

  /**
   * RFC 8555 §6.2: every POST is a JWS with a fresh nonce; `payload` undefined is POST-as-GET.
   * A `badNonce` answer carries a new nonce (§6.5), so the request is re-signed and re-sent, a
   * bounded number of times. Any other error status becomes an AcmeProblemError.
   */
  async post(url: string, payload: unknown, signer: AcmeSigner, accept?: string): Promise<HttpResult> {
    const headerFor = await this.headerMaker(url, signer);
    for (let attempt = 0; ; attempt++) {
      const jws = await signEs256(headerFor(await this.nextNonce()), payload, signer.keyPair.privateKey, this.options.subtle);
      const headers: Record<string, string> = { 'content-type': JOSE_JSON };
      if (accept) headers.accept = accept;
      const response = await this.send('POST', url, headers, JSON.stringify(jws));
      if (response.status < 400) return response;
      const error = this.problemError('POST', url, response);
      if (error.code !== AcmeErrorCode.BAD_NONCE || attempt >= this.options.maxBadNonceRetries) throw error;
      this.options.onEvent?.({ type: 'bad-nonce-retry', url, attempt: attempt + 1 });
    }
  }

  /** The response body as JSON, or a protocol error naming the URL (never echoing the body). */
  json(response: HttpResult, url: string): unknown {
    try {
      return JSON.parse(response.body);
    } catch {
      throw new AcmeProtocolError(`ACME response from ${url} (HTTP ${response.status}) is not JSON`);
    }
  }

  /** The Location header (RFC 8555 §7.3, §7.4: the new resource's URL), resolved against `from`. */
  location(response: HttpResult, from: string, what: string): string {
    const location = response.headers.get('location');
    if (!location || !URL.canParse(location, from)) {
      throw new AcmeProtocolError(`ACME ${what} response from ${from} has no Location header`);
    }
    return new URL(location, from).href;
  }

  retryAfterMs(response: HttpResult): number | undefined {
    return parseRetryAfter(response.headers.get('retry-after'), this.options.clock());
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async headerMaker(url: string, signer: AcmeSigner): Promise<(nonce: string) => AcmeProtectedHeader> {
    if (signer.kind === 'kid') return (nonce) => ({ alg: 'ES256', nonce, url, kid: signer.kid });
    const jwk = await exportPublicJwk(signer.keyPair.publicKey, this.options.subtle);
    return (nonce) => ({ alg: 'ES256', nonce, url, jwk });
  }

  private async fetchDirectory(): Promise<AcmeDirectory> {
    const url = this.options.directoryUrl;
    const response = await this.send('GET', url, {});
    if (response.status >= 300) throw this.problemError('GET', url, response);
    return parseDirectory(this.json(response, url), url);
  }

  private async nextNonce(): Promise<string> {
    const pooled = this.nonces.take();
    if (pooled) return pooled;
    const { newNonce } = await this.getDirectory();
    // RFC 8555 §7.2: HEAD newNonce answers 200 with a Replay-Nonce header.
    const response = await this.send('HEAD', newNonce, {});
    if (response.status >= 400) throw this.problemError('HEAD', newNonce, response);
    const nonce = this.nonces.take();
    if (!nonce) throw new AcmeProtocolError(`ACME newNonce ${newNonce} returned no valid Replay-Nonce header`);
    return nonce;
  }

  private async send(method: 'GET' | 'HEAD' | 'POST', url: string, headers: Record<string, string>, body?: string): Promise<HttpResult> {
    const started = Date.now();
    const response = await this.http.request(method, url, headers, body);
    // RFC 8555 §6.5: servers send a fresh nonce on every response, errors included.
    this.nonces.add(response.headers.get('replay-nonce'));
    this.options.onEvent?.({ type: 'response', method, url, status: response.status, durationMs: Date.now() - started });
    return response;
  }

  private problemError(method: string, url: string, response: HttpResult): AcmeProblemError {
    let problem = undefined;
    try {
      problem = parseProblem(JSON.parse(response.body));
    } catch {
      // Not JSON (a proxy's HTML page, an empty body): described below without echoing the body.
    }
    const retryAfter = this.retryAfterMs(response);
    return new AcmeProblemError({
      method,
      url,
      httpStatus: response.status,
      problem: problem ?? { type: 'about:blank', detail: `HTTP ${response.status} without a problem document` },
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    });
  }
}
