import { AcmeErrorCode, AcmeProblemError, isAcmeError } from '@app/acme';
import { isKeystoreError } from '@app/keystore';
import { isShakenError } from '@app/shaken';
import { isStiPaError, StiPaErrorCode } from '@app/sti-pa';

/**
 * Why a procurement step failed, in the form the order records and GET shows: a stable code,
 * a message safe to show (library messages never carry keys, passwords or tokens), and whether
 * waiting can help. `permanent` failures end the order in `failed` at once (the CA refused our
 * CSR, the issued certificate failed its checks); `retryable` ones back off and try again.
 */
export interface StepFailure {
  readonly code: string;
  readonly message: string;
  readonly permanent: boolean;
  /** The far side asked us to wait at least this long (Retry-After). */
  readonly retryAfterMs?: number;
  /** The wait has a known end (a certificate not valid yet): retry exactly then, not on the backoff. */
  readonly retryInMs?: number;
  readonly details?: Readonly<Record<string, string | number | boolean | string[]>>;
}

/** A failure this service decides on itself (a missing seam, a lost lease, a refused order). */
export class ProcurementError extends Error {
  override readonly name = 'ProcurementError';
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
    readonly details?: StepFailure['details'],
    readonly retryInMs?: number,
  ) {
    super(message);
  }
}

/** Another worker took the order over (our lease ran out): stop touching it, record nothing. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

// The CA said no to what we sent, or the order can no longer succeed: asking again with the same
// request cannot help (RFC 8555 §6.7). Everything else from ACME is an outage or a hiccup.
const PERMANENT_ACME_CODES: ReadonlySet<string> = new Set([
  AcmeErrorCode.BAD_CSR,
  AcmeErrorCode.BAD_PUBLIC_KEY,
  AcmeErrorCode.BAD_SIGNATURE_ALGORITHM,
  AcmeErrorCode.REJECTED_IDENTIFIER,
  AcmeErrorCode.UNSUPPORTED_IDENTIFIER,
  AcmeErrorCode.ORDER_INVALID,
  AcmeErrorCode.AUTHORIZATION_INVALID,
  AcmeErrorCode.CHALLENGE_INVALID,
  AcmeErrorCode.CHALLENGE_NOT_OFFERED,
  AcmeErrorCode.EXTERNAL_ACCOUNT_REQUIRED,
  AcmeErrorCode.ACCOUNT_DOES_NOT_EXIST,
  AcmeErrorCode.UNAUTHORIZED,
  AcmeErrorCode.USER_ACTION_REQUIRED,
  AcmeErrorCode.MALFORMED,
  AcmeErrorCode.PROBLEM,
  AcmeErrorCode.UNSUPPORTED_OPERATION,
  AcmeErrorCode.INVALID_ARGUMENT,
  AcmeErrorCode.BAD_ACCOUNT_KEY,
]);

// A shaken check failing on the issued certificate is final: the CA will not issue a different
// certificate for the same order (ATIS-1000080 v005 §6.4.1 profile, STIR-SHAKEN.md §4). SPC
// token problems are not: the next token may be fine (or the pinned root gets fixed).
const PERMANENT_SHAKEN_PREFIXES = ['CERT.', 'CRL.', 'CSR.', 'KEY.', 'TN_AUTH_LIST.'];
// ...except where only time is wrong: a certificate dated a little ahead by the CA's clock, or a
// CRL the STI-PA has not replaced yet, will be fine later.
const RETRYABLE_SHAKEN_CODES: ReadonlySet<string> = new Set(['CERT.NOT_YET_VALID', 'CRL.EXPIRED', 'CRL.NOT_YET_VALID']);

/** Maps anything a step threw to the failure the order records. */
export function describeFailure(error: unknown): StepFailure {
  if (error instanceof ProcurementError) {
    return {
      code: error.code,
      message: error.message,
      permanent: error.permanent,
      ...(error.details ? { details: error.details } : {}),
      ...(error.retryInMs !== undefined ? { retryInMs: error.retryInMs } : {}),
    };
  }
  if (isAcmeError(error)) {
    const retryAfterMs = error instanceof AcmeProblemError ? error.retryAfterMs : undefined;
    return { code: error.code, message: error.message, permanent: PERMANENT_ACME_CODES.has(error.code), ...(retryAfterMs ? { retryAfterMs } : {}) };
  }
  if (isStiPaError(error)) {
    // Bad credentials, a missing allow-list entry or a refused OCN need a person, then a retry
    // works: they back off rather than fail the order. A caller bug does not get better.
    return {
      code: error.code,
      message: error.message,
      permanent: error.code === StiPaErrorCode.INVALID_ARGUMENT,
      ...(error.retryAfterMs ? { retryAfterMs: error.retryAfterMs } : {}),
    };
  }
  if (isShakenError(error)) {
    const permanent = !RETRYABLE_SHAKEN_CODES.has(error.code) && PERMANENT_SHAKEN_PREFIXES.some((p) => error.code.startsWith(p));
    return { code: error.code, message: error.message, permanent };
  }
  if (isKeystoreError(error)) {
    // A sealed key that no longer opens (wrong KEK, altered row) will not open tomorrow either.
    return { code: error.code, message: error.message, permanent: true };
  }
  // Other libraries of this product (storage, the publisher) throw errors with a stable code and
  // a message written to be shown; they are outages or refusals worth retrying.
  if (hasStableCode(error)) return { code: error.code, message: error.message, permanent: false };
  // Unknown errors (database, bugs): their text may quote query values, so none of it is kept.
  return { code: 'INTERNAL', message: 'internal error; see the service log for this order', permanent: false };
}

// Prisma's errors carry codes like P2002 and messages that can quote the values of a query.
function hasStableCode(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error) || error.name.startsWith('Prisma')) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*\.[A-Z0-9_.]+$/.test(code);
}
