/**
 * Typed errors of the shared HTTP transport. The ACME and STI-PA clients translate them into their
 * own stable codes; `code` here is stable too (`HTTP.<REASON>`). Messages name the method and the
 * URL without its query, never a request or response body, so they can be logged as-is.
 */
export const HttpErrorCode = {
  /** The deadline (connect, headers and the whole body) passed. */
  TIMEOUT: 'HTTP.TIMEOUT',
  /** DNS, TCP or TLS failure: the server could not be reached or did not prove who it is. */
  NETWORK: 'HTTP.NETWORK',
  /** The server answered 3xx. Neither ACME nor the STI-PA redirects; following would re-send a POST body elsewhere. */
  REDIRECT_REFUSED: 'HTTP.REDIRECT_REFUSED',
  /** The body grew past the cap; the transfer was aborted at that point. */
  BODY_TOO_LARGE: 'HTTP.BODY_TOO_LARGE',
  /** The caller passed an unusable option (a non-positive deadline or cap). */
  INVALID_ARGUMENT: 'HTTP.INVALID_ARGUMENT',
} as const;

export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

export class HttpTransportError extends Error {
  override readonly name = 'HttpTransportError';

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly details: {
      method?: string;
      /** The request URL without query or fragment. */
      url?: string;
      status?: number;
      /** Origin and path of a refused redirect's Location, when it had one. */
      location?: string;
      timeoutMs?: number;
      maxBodyBytes?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

export function isHttpTransportError(error: unknown, code?: HttpErrorCode): error is HttpTransportError {
  return error instanceof HttpTransportError && (code === undefined || error.code === code);
}

/** The socket-level reason of a failed fetch, e.g. `ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:1)`. */
export function describeNetworkCause(cause: unknown): string {
  // undici wraps the socket error as `TypeError: fetch failed` with the real reason in `cause`.
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
  if (inner instanceof Error) {
    const code = (inner as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${inner.message})` : inner.message;
  }
  return String(inner);
}

/** URL without query and fragment: a query may carry something the caller did not mean to log. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return '(unparsable URL)';
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}
