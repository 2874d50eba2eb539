/**
 * Domain error for everything in @app/shaken.
 *
 * `code` is stable (`<AREA>.<REASON>`, e.g. `TN_AUTH_LIST.INVALID_SPC`, `SPC_TOKEN.EXPIRED`) so that
 * callers branch on it and the service maps it to HTTP in one place. Messages describe what was
 * wrong with the input in words; they never carry key material, SPC tokens or other secrets, so an
 * error can be logged as-is.
 */
export class ShakenError extends Error {
  override readonly name = 'ShakenError';

  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `error` is a ShakenError, optionally with exactly this `code`. */
export function isShakenError(error: unknown, code?: string): error is ShakenError {
  return error instanceof ShakenError && (code === undefined || error.code === code);
}
