import { StorageError, StorageErrorCode } from '../storage-error.js';

/** What an AWS SDK v3 failure says, without its message (which may echo request details). */
export interface S3Failure {
  /** HTTP status when the store answered; undefined for network failures and timeouts. */
  readonly status: number | undefined;
  /** S3 error code (`NoSuchKey`, `AccessDenied`, ...) or the socket/abort error's code or name. */
  readonly code: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

export function describeS3Failure(error: unknown): S3Failure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const code = [e.Code, e.code, e.name].find((c): c is string => typeof c === 'string' && c.length > 0) ?? 'UnknownError';
  return { status, code };
}

/** A precondition on a conditional write failed: another writer created the object first. */
export function isLostConditionalWrite(failure: S3Failure): boolean {
  // AWS S3 conditional writes: 412 PreconditionFailed when the key exists, 409
  // ConditionalRequestConflict when a concurrent write to the key is still in flight.
  return failure.status === 412 || failure.code === 'PreconditionFailed' || failure.code === 'ConditionalRequestConflict';
}

/** The store does not implement If-None-Match on PutObject (some S3-compatible stores). */
export function isConditionalWriteUnsupported(failure: S3Failure): boolean {
  return failure.status === 501 || failure.code === 'NotImplemented';
}

/**
 * Maps an SDK failure to the store's typed errors. The SDK's own message is left out on purpose:
 * signature errors echo the canonical request and string-to-sign.
 */
export function s3StorageError(operation: string, subject: string, failure: S3Failure, timeoutMs: number): StorageError {
  const where = `S3 STI-CR store could not ${operation} ${subject}`;
  const { status, code } = failure;
  if (code === 'AbortError' || code === 'TimeoutError' || code === 'RequestTimeout' || code === 'ETIMEDOUT') {
    return new StorageError(StorageErrorCode.UNAVAILABLE, `${where}: no answer within ${timeoutMs} ms (${code})`);
  }
  if (code === 'CredentialsProviderError') {
    return new StorageError(StorageErrorCode.ACCESS_DENIED, `${where}: no AWS credentials found in the standard chain`);
  }
  if (status === undefined) {
    const kind = NETWORK_CODES.has(code) ? 'store unreachable' : 'request failed before an answer';
    return new StorageError(StorageErrorCode.UNAVAILABLE, `${where}: ${kind} (${code})`);
  }
  const detail = `${code} (HTTP ${status})`;
  if (status === 401 || status === 403) return new StorageError(StorageErrorCode.ACCESS_DENIED, `${where}: ${detail}`);
  if (code === 'NoSuchBucket') return new StorageError(StorageErrorCode.NOT_FOUND, `${where}: ${detail}`);
  // 429 and 503 SlowDown are throttling: the store is there but cannot take the call now.
  if (status >= 500 || status === 429) return new StorageError(StorageErrorCode.UNAVAILABLE, `${where}: ${detail}`);
  return new StorageError(StorageErrorCode.REJECTED, `${where}: ${detail}`);
}
