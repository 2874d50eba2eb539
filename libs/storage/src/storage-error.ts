/**
 * Stable codes for everything @app/storage can refuse or fail at. Callers branch on `code`; the
 * service maps them to HTTP and to the publication state in one place.
 */
export const StorageErrorCode = {
  /** The key is not one `stiCrKeyFor` could have produced (path tricks, bad charset, too long). */
  UNSAFE_KEY: 'STORAGE.UNSAFE_KEY',
  /** The body is not a PEM certificate chain (STIR-SHAKEN.md §6: starts with BEGIN CERTIFICATE). */
  NOT_A_CHAIN: 'STORAGE.NOT_A_CHAIN',
  /** The body carries private key material: never published, whatever else it holds. */
  PRIVATE_KEY_REFUSED: 'STORAGE.PRIVATE_KEY_REFUSED',
  /** The body is 8 KB or more; verifiers refuse x5u bodies of that size. */
  TOO_LARGE: 'STORAGE.TOO_LARGE',
  /** Different bytes already live under this key; a published x5u never changes its bytes. */
  IMMUTABLE_CONFLICT: 'STORAGE.IMMUTABLE_CONFLICT',
  /** The store did not answer in time, or answered with a server-side failure. Retry later. */
  UNAVAILABLE: 'STORAGE.UNAVAILABLE',
  /** The store refused our credentials or permissions. */
  ACCESS_DENIED: 'STORAGE.ACCESS_DENIED',
  /** The store itself (bucket) does not exist. A missing object is not an error: `get` returns null. */
  NOT_FOUND: 'STORAGE.NOT_FOUND',
  /** The store rejected the request for a reason other than the above (4xx from S3). */
  REJECTED: 'STORAGE.REJECTED',
  /** The store configuration is invalid; `issues` names every bad field. */
  CONFIG_INVALID: 'STORAGE.CONFIG_INVALID',
} as const;

export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** Failures of the store itself: the same call may succeed later, so the lifecycle retries them. */
const RETRYABLE: ReadonlySet<StorageErrorCode> = new Set([
  StorageErrorCode.UNAVAILABLE,
  StorageErrorCode.ACCESS_DENIED,
  StorageErrorCode.NOT_FOUND,
]);

export interface ConfigIssue {
  /** Path of the bad field, driver-qualified, e.g. `s3.bucket`, `filesystem.rootDir`. */
  readonly field: string;
  readonly problem: string;
}

/**
 * Domain error of @app/storage. Messages name the key, the operation and the store's own error
 * code; they never carry credentials or body bytes (a refused body may be a private key).
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** True when the store (not the input) is the problem, so retrying with backoff makes sense. */
  readonly retryable: boolean;

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
  ) {
    super(message);
    this.retryable = RETRYABLE.has(code);
  }
}

/** True when `error` is a StorageError, optionally with exactly this `code`. */
export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && (code === undefined || error.code === code);
}
