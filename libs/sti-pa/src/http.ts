import {
  describeNetworkCause,
  HttpErrorCode,
  HttpTransport,
  isHttpTransportError,
  type HttpFetch,
  type HttpRequest,
  type HttpResponse,
  type HttpResult,
  type HttpTransportOptions,
} from '@app/http';
import { StiPaError, StiPaErrorCode } from './errors.js';

/**
 * The STI-PA client's side of the shared transport (@app/http): deadlines, no redirects (a 307
 * would re-send the login password to another origin), a streamed body cap and verified TLS come
 * from there; this maps its failures to the client's stable STI_PA codes.
 */

export type StiPaHttpRequest = HttpRequest;
export type StiPaHttpResponse = HttpResponse;
export type StiPaFetch = HttpFetch;
export type { HttpResult };

export interface StiPaTransportOptions extends HttpTransportOptions {
  /** Deadline per HTTP request in ms. Default 15 000. */
  requestTimeoutMs?: number;
  /** Largest response body accepted. Default 2 MiB (a CA list with every approved root is far smaller). */
  maxBodyBytes?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

export class StiPaHttp {
  private readonly transport: HttpTransport;

  constructor(options: StiPaTransportOptions, userAgent: string) {
    try {
      this.transport = new HttpTransport(options, { userAgent, requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
    } catch (error) {
      if (isHttpTransportError(error)) throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, error.message);
      throw error;
    }
  }

  get timeoutMs(): number {
    return this.transport.timeoutMs;
  }

  /**
   * One HTTP exchange; any non-3xx status is returned, not thrown. `what` names the request in
   * messages (method and path, never the query or body).
   */
  async request(method: 'GET' | 'POST', url: string, what: string, headers: Record<string, string>, body?: string): Promise<HttpResult> {
    try {
      return await this.transport.request(method, url, headers, body);
    } catch (error) {
      if (!isHttpTransportError(error)) throw error;
      const { status } = error.details;
      switch (error.code) {
        case HttpErrorCode.TIMEOUT:
          throw new StiPaError(StiPaErrorCode.TIMEOUT, `STI-PA ${what} timed out after ${this.transport.timeoutMs} ms`);
        case HttpErrorCode.REDIRECT_REFUSED:
          // The STI-PA API does not redirect; one means a proxy or an impostor between us and it.
          throw new StiPaError(
            StiPaErrorCode.REDIRECT_REFUSED,
            `STI-PA ${what} answered HTTP ${status ?? '3xx'}${error.details.location ? ` redirecting to ${new URL(error.details.location).origin}` : ''}; redirects are not followed`,
            { ...(status !== undefined ? { status } : {}) },
          );
        case HttpErrorCode.BODY_TOO_LARGE:
          throw new StiPaError(StiPaErrorCode.MALFORMED_RESPONSE, `STI-PA ${what} answered with more than ${this.transport.maxBodyBytes} bytes`, {
            ...(status !== undefined ? { status } : {}),
          });
        default:
          throw new StiPaError(StiPaErrorCode.UNAVAILABLE, `STI-PA ${what} failed: ${describeNetworkCause(error.details.cause)}`, {
            cause: error.details.cause ?? error,
          });
      }
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
