import {
  HttpErrorCode,
  HttpTransport,
  isHttpTransportError,
  type HttpFetch,
  type HttpRequest,
  type HttpResponse,
  type HttpTransportOptions,
} from '@app/http';
import { AcmeError, AcmeErrorCode, AcmeNetworkError, AcmeTimeoutError, AcmeUsageError } from './errors.js';

/**
 * The ACME client's side of the shared transport (@app/http): deadlines, no redirects (RFC 8555
 * defines none), a streamed body cap and verified TLS come from there; this maps its failures to
 * the client's stable ACME codes and hands bodies on as text.
 */

export type AcmeHttpRequest = HttpRequest;
export type AcmeHttpResponse = HttpResponse;
export type AcmeFetch = HttpFetch;

export interface AcmeTransportOptions extends HttpTransportOptions {
  /** Deadline per HTTP request in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Largest response body accepted. Default 1 MiB (a certificate chain is a few KB). */
  maxBodyBytes?: number;
}

export interface HttpResult {
  status: number;
  headers: { get(name: string): string | null };
  body: string;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export class AcmeHttp {
  private readonly transport: HttpTransport;

  constructor(options: AcmeTransportOptions, userAgent: string) {
    try {
      // RFC 8555 §6.1: ACME clients MUST send a User-Agent header.
      this.transport = new HttpTransport(options, { userAgent, requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
    } catch (error) {
      if (isHttpTransportError(error)) throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `ACME transport: ${error.message}`);
      throw error;
    }
  }

  get timeoutMs(): number {
    return this.transport.timeoutMs;
  }

  async request(method: HttpRequest['method'], url: string, headers: Record<string, string> = {}, body?: string): Promise<HttpResult> {
    try {
      const result = await this.transport.request(method, url, headers, body);
      return { status: result.status, headers: result.headers, body: Buffer.from(result.body).toString('utf8') };
    } catch (error) {
      if (!isHttpTransportError(error)) throw error;
      switch (error.code) {
        case HttpErrorCode.TIMEOUT:
          throw new AcmeTimeoutError(method, url, this.transport.timeoutMs);
        case HttpErrorCode.REDIRECT_REFUSED:
          throw new AcmeError(AcmeErrorCode.REDIRECT_REFUSED, `ACME ${error.message}`, { cause: error });
        case HttpErrorCode.BODY_TOO_LARGE:
          throw new AcmeError(AcmeErrorCode.RESPONSE_TOO_LARGE, `ACME ${error.message}`, { cause: error });
        default:
          throw new AcmeNetworkError(method, url, error.details.cause ?? error);
      }
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
