import { describeNetworkCause } from '@app/http';

/**
 * Typed errors of the ACME client. `code` is stable (`ACME.<REASON>`) so that procurement can branch
 * on it without parsing messages. Messages name the request (method and URL) and what went wrong;
 * they never carry key material, JWS bodies or SPC tokens, so an error can be logged as-is.
 */

export const AcmeErrorCode = {
  // Problem documents (RFC 8555 §6.7).
  BAD_NONCE: 'ACME.BAD_NONCE',
  UNAUTHORIZED: 'ACME.UNAUTHORIZED',
  RATE_LIMITED: 'ACME.RATE_LIMITED',
  SERVER_ERROR: 'ACME.SERVER_ERROR',
  MALFORMED: 'ACME.MALFORMED',
  ACCOUNT_DOES_NOT_EXIST: 'ACME.ACCOUNT_DOES_NOT_EXIST',
  EXTERNAL_ACCOUNT_REQUIRED: 'ACME.EXTERNAL_ACCOUNT_REQUIRED',
  ALREADY_REVOKED: 'ACME.ALREADY_REVOKED',
  BAD_CSR: 'ACME.BAD_CSR',
  BAD_PUBLIC_KEY: 'ACME.BAD_PUBLIC_KEY',
  BAD_REVOCATION_REASON: 'ACME.BAD_REVOCATION_REASON',
  BAD_SIGNATURE_ALGORITHM: 'ACME.BAD_SIGNATURE_ALGORITHM',
  ORDER_NOT_READY: 'ACME.ORDER_NOT_READY',
  REJECTED_IDENTIFIER: 'ACME.REJECTED_IDENTIFIER',
  UNSUPPORTED_IDENTIFIER: 'ACME.UNSUPPORTED_IDENTIFIER',
  INCORRECT_RESPONSE: 'ACME.INCORRECT_RESPONSE',
  USER_ACTION_REQUIRED: 'ACME.USER_ACTION_REQUIRED',
  /** Any other problem type (or a 4xx without a problem document). */
  PROBLEM: 'ACME.PROBLEM',
  // Client-side conditions.
  TIMEOUT: 'ACME.TIMEOUT',
  POLL_TIMEOUT: 'ACME.POLL_TIMEOUT',
  /** The server's Retry-After asks for a longer wait than the whole polling budget allows. */
  RETRY_AFTER_TOO_LONG: 'ACME.RETRY_AFTER_TOO_LONG',
  NETWORK: 'ACME.NETWORK',
  /** The server answered 3xx: RFC 8555 has no redirects, and following one would re-send a signed POST elsewhere. */
  REDIRECT_REFUSED: 'ACME.REDIRECT_REFUSED',
  /** The response body passed the transport's size cap; the transfer was aborted. */
  RESPONSE_TOO_LARGE: 'ACME.RESPONSE_TOO_LARGE',
  PROTOCOL: 'ACME.PROTOCOL',
  ORDER_INVALID: 'ACME.ORDER_INVALID',
  AUTHORIZATION_INVALID: 'ACME.AUTHORIZATION_INVALID',
  CHALLENGE_INVALID: 'ACME.CHALLENGE_INVALID',
  CHALLENGE_NOT_OFFERED: 'ACME.CHALLENGE_NOT_OFFERED',
  UNSUPPORTED_OPERATION: 'ACME.UNSUPPORTED_OPERATION',
  NO_ACCOUNT: 'ACME.NO_ACCOUNT',
  BAD_ACCOUNT_KEY: 'ACME.BAD_ACCOUNT_KEY',
  INVALID_ARGUMENT: 'ACME.INVALID_ARGUMENT',
} as const;

export type AcmeErrorCode = (typeof AcmeErrorCode)[keyof typeof AcmeErrorCode];

/** RFC 7807 problem document as used by RFC 8555 §6.7 (subproblems carry an identifier). */
export interface AcmeProblem {
  type: string;
  detail?: string;
  status?: number;
  instance?: string;
  identifier?: { type: string; value: string };
  subproblems?: AcmeProblem[];
}

export class AcmeError extends Error {
  override readonly name: string = 'AcmeError';

  constructor(
    readonly code: AcmeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isAcmeError(error: unknown, code?: AcmeErrorCode): error is AcmeError {
  return error instanceof AcmeError && (code === undefined || error.code === code);
}

const ACME_ERROR_NS = 'urn:ietf:params:acme:error:';

// RFC 8555 §6.7 error types that callers are expected to branch on.
const PROBLEM_CODES: Record<string, AcmeErrorCode> = {
  badNonce: AcmeErrorCode.BAD_NONCE,
  unauthorized: AcmeErrorCode.UNAUTHORIZED,
  rateLimited: AcmeErrorCode.RATE_LIMITED,
  serverInternal: AcmeErrorCode.SERVER_ERROR,
  malformed: AcmeErrorCode.MALFORMED,
  accountDoesNotExist: AcmeErrorCode.ACCOUNT_DOES_NOT_EXIST,
  externalAccountRequired: AcmeErrorCode.EXTERNAL_ACCOUNT_REQUIRED,
  alreadyRevoked: AcmeErrorCode.ALREADY_REVOKED,
  badCSR: AcmeErrorCode.BAD_CSR,
  badPublicKey: AcmeErrorCode.BAD_PUBLIC_KEY,
  badRevocationReason: AcmeErrorCode.BAD_REVOCATION_REASON,
  badSignatureAlgorithm: AcmeErrorCode.BAD_SIGNATURE_ALGORITHM,
  orderNotReady: AcmeErrorCode.ORDER_NOT_READY,
  rejectedIdentifier: AcmeErrorCode.REJECTED_IDENTIFIER,
  unsupportedIdentifier: AcmeErrorCode.UNSUPPORTED_IDENTIFIER,
  incorrectResponse: AcmeErrorCode.INCORRECT_RESPONSE,
  userActionRequired: AcmeErrorCode.USER_ACTION_REQUIRED,
};

/** Stable code for a problem type; HTTP status decides only when the type is not one we know. */
export function codeForProblem(type: string, httpStatus: number): AcmeErrorCode {
  if (type.startsWith(ACME_ERROR_NS)) {
    const known = PROBLEM_CODES[type.slice(ACME_ERROR_NS.length)];
    if (known) return known;
  }
  if (httpStatus === 429) return AcmeErrorCode.RATE_LIMITED;
  if (httpStatus >= 500) return AcmeErrorCode.SERVER_ERROR;
  return AcmeErrorCode.PROBLEM;
}

/** The server answered with an error status (RFC 8555 §6.7 problem document, or a bare HTTP error). */
export class AcmeProblemError extends AcmeError {
  override readonly name = 'AcmeProblemError';
  readonly type: string;
  readonly detail: string | undefined;
  /** HTTP status of the response (the problem's own `status` member when the response had none). */
  readonly status: number;
  readonly subproblems: AcmeProblem[];
  readonly problem: AcmeProblem;
  /** Milliseconds the server asked us to wait (`Retry-After`), e.g. with `rateLimited`. */
  readonly retryAfterMs: number | undefined;

  constructor(args: { method: string; url: string; httpStatus: number; problem: AcmeProblem; retryAfterMs?: number }) {
    const { problem } = args;
    const shortType = problem.type.startsWith(ACME_ERROR_NS) ? problem.type.slice(ACME_ERROR_NS.length) : problem.type;
    super(
      codeForProblem(problem.type, args.httpStatus),
      `ACME ${args.method} ${args.url} failed with HTTP ${args.httpStatus} ${shortType}` +
        (problem.detail ? `: ${problem.detail}` : ''),
    );
    this.type = problem.type;
    this.detail = problem.detail;
    this.status = args.httpStatus;
    this.subproblems = problem.subproblems ?? [];
    this.problem = problem;
    this.retryAfterMs = args.retryAfterMs;
  }
}

/** A request (connect, headers and body) did not complete within its time limit. */
export class AcmeTimeoutError extends AcmeError {
  override readonly name = 'AcmeTimeoutError';

  constructor(
    readonly method: string,
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(AcmeErrorCode.TIMEOUT, `ACME ${method} ${url} timed out after ${timeoutMs} ms`);
  }
}

/** Polling a pending resource ran out of attempts or time (bounded on purpose, see polling options). */
export class AcmePollTimeoutError extends AcmeError {
  override readonly name = 'AcmePollTimeoutError';

  constructor(
    readonly url: string,
    readonly lastStatus: string,
    attempts: number,
  ) {
    super(
      AcmeErrorCode.POLL_TIMEOUT,
      `ACME resource ${url} still "${lastStatus}" after ${attempts} polls; giving up`,
    );
  }
}

/** The server could not be reached (DNS, TCP, TLS). */
export class AcmeNetworkError extends AcmeError {
  override readonly name = 'AcmeNetworkError';

  constructor(method: string, url: string, cause: unknown) {
    super(AcmeErrorCode.NETWORK, `ACME ${method} ${url} failed: ${describeNetworkCause(cause)}`, { cause });
  }
}

/** The server answered, but not as RFC 8555 requires (missing header, wrong content type, bad JSON). */
export class AcmeProtocolError extends AcmeError {
  override readonly name = 'AcmeProtocolError';

  constructor(message: string) {
    super(AcmeErrorCode.PROTOCOL, message);
  }
}

/**
 * An order, authorization or challenge ended in a failed state (`invalid`; for authorizations also
 * `expired`, `deactivated`, `revoked`). `problem` is the server's reason when it gave one.
 */
export class AcmeStatusError extends AcmeError {
  override readonly name = 'AcmeStatusError';

  constructor(
    code: typeof AcmeErrorCode.ORDER_INVALID | typeof AcmeErrorCode.AUTHORIZATION_INVALID | typeof AcmeErrorCode.CHALLENGE_INVALID,
    readonly url: string,
    readonly state: string,
    readonly problem: AcmeProblem | undefined,
  ) {
    const what = code === AcmeErrorCode.ORDER_INVALID ? 'order' : code === AcmeErrorCode.AUTHORIZATION_INVALID ? 'authorization' : 'challenge';
    super(
      code,
      `ACME ${what} ${url} is ${state}` + (problem ? `: ${problem.type}${problem.detail ? ` (${problem.detail})` : ''}` : ''),
    );
  }
}

/** The caller asked for something this client or this CA cannot do (bad argument, missing endpoint). */
export class AcmeUsageError extends AcmeError {
  override readonly name = 'AcmeUsageError';
}
