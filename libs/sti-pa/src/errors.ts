/**
 * Typed errors of the STI-PA client. `code` is stable (`STI_PA.<REASON>`) so that procurement can
 * branch on it (ask the user for new credentials, wait for the allow-list, back off, retry later)
 * without reading messages. Messages name the request (method and path) and the STI-PA's own
 * explanation; they never carry the password, the access or refresh token, or an SPC token, so an
 * error can be logged as-is.
 */
export const StiPaErrorCode = {
  /** 401: the API user's id or password is wrong (or the session could not be re-established). */
  BAD_CREDENTIALS: 'STI_PA.BAD_CREDENTIALS',
  /** 403 from the source-IP allow-list the STI-PA keeps per API user. */
  NOT_ALLOW_LISTED: 'STI_PA.NOT_ALLOW_LISTED',
  /** 403 on a token request: the API user's account does not hold this OCN. */
  FORBIDDEN_OCN: 'STI_PA.FORBIDDEN_OCN',
  /** 429: too many requests; `retryAfterMs` says how long the STI-PA asked us to wait. */
  RATE_LIMITED: 'STI_PA.RATE_LIMITED',
  /** 5xx or a connection failure (after the bounded retries where retrying is safe). */
  UNAVAILABLE: 'STI_PA.UNAVAILABLE',
  /** The STI-PA answered 3xx. Its API never redirects, and following would re-send the password or token elsewhere. */
  REDIRECT_REFUSED: 'STI_PA.REDIRECT_REFUSED',
  /** The request did not complete within its deadline. */
  TIMEOUT: 'STI_PA.TIMEOUT',
  /** The STI-PA answered 2xx but not in the documented shape. */
  MALFORMED_RESPONSE: 'STI_PA.MALFORMED_RESPONSE',
  /** Any other 4xx: the STI-PA refused the request as such (bad tkvalue, unknown OCN, ...). */
  REQUEST_REJECTED: 'STI_PA.REQUEST_REJECTED',
  /** The signed CA list failed verification (signature, x5u chain to the pinned root, expiry). */
  CA_LIST_INVALID: 'STI_PA.CA_LIST_INVALID',
  /** The caller passed something unusable (bad URL, malformed OCN or fingerprint). */
  INVALID_ARGUMENT: 'STI_PA.INVALID_ARGUMENT',
} as const;

export type StiPaErrorCode = (typeof StiPaErrorCode)[keyof typeof StiPaErrorCode];

export interface StiPaErrorDetails {
  /** HTTP status of the response that caused the error, when there was one. */
  status?: number;
  /** `Retry-After` of a 429 or 503, in milliseconds. */
  retryAfterMs?: number;
  /** How many HTTP attempts were made (more than one only where retrying is safe). */
  attempts?: number;
  cause?: unknown;
}

export class StiPaError extends Error {
  override readonly name = 'StiPaError';
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number | undefined;

  constructor(
    readonly code: StiPaErrorCode,
    message: string,
    details: StiPaErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts;
  }
}

export function isStiPaError(error: unknown, code?: StiPaErrorCode): error is StiPaError {
  return error instanceof StiPaError && (code === undefined || error.code === code);
}
