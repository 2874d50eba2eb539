/**
 * Error for everything in @app/keystore. `code` is stable; messages name key ids, files and
 * lengths, never key material, plaintext or the value of a master key.
 */
export class KeystoreError extends Error {
  override readonly name = 'KeystoreError';

  constructor(
    readonly code: KeystoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type KeystoreErrorCode =
  /** A master key is not 32 bytes in base64 or hex. */
  | 'KEYSTORE.INVALID_KEK'
  /** The key file is unreadable, malformed, or readable by others than its owner. */
  | 'KEYSTORE.KEY_FILE_UNUSABLE'
  /** Not a sealed blob of a known format version. */
  | 'KEYSTORE.MALFORMED_BLOB'
  /** The blob was sealed under a KEK this keystore does not hold. */
  | 'KEYSTORE.UNKNOWN_KEK'
  /** Authentication failed: the blob was altered, or it belongs to another record or purpose. */
  | 'KEYSTORE.OPEN_FAILED'
  /** Bytes given as a PKCS#8 private key are not one. */
  | 'KEYSTORE.INVALID_PRIVATE_KEY'
  /** The custody cannot do this (e.g. export a non-extractable hardware key). */
  | 'KEYSTORE.UNSUPPORTED';

/** True when `error` is a KeystoreError, optionally with exactly this `code`. */
export function isKeystoreError(error: unknown, code?: KeystoreErrorCode): error is KeystoreError {
  return error instanceof KeystoreError && (code === undefined || error.code === code);
}
