/**
 * Error for everything in @app/db. `code` is stable (`DB.<REASON>`, `EMBEDDED_PG.<REASON>`) so
 * callers branch on it; messages name migrations, paths and SQLSTATEs, never connection passwords.
 */
export class DbError extends Error {
  override readonly name = 'DbError';

  constructor(
    readonly code: DbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type DbErrorCode =
  /** No prisma/migrations folder could be found from this module's location. */
  | 'DB.MIGRATIONS_NOT_FOUND'
  /** An applied migration's migration.sql no longer has the checksum recorded when it ran. */
  | 'DB.MIGRATION_MODIFIED'
  /** The database records a migration this build does not have: it was migrated by a newer build. */
  | 'DB.MIGRATION_UNKNOWN'
  /** A migration started earlier (by Prisma) never finished and was not resolved. */
  | 'DB.MIGRATION_UNFINISHED'
  /** A migration's SQL failed; it was rolled back and nothing of it is applied. */
  | 'DB.MIGRATION_FAILED'
  /** Another process held the migration lock for longer than the timeout. */
  | 'DB.MIGRATION_LOCK_TIMEOUT'
  /** A transaction kept losing serialization races or deadlocks after its retries. */
  | 'DB.TRANSACTION_CONFLICT'
  | 'EMBEDDED_PG.UNSUPPORTED_PLATFORM'
  | 'EMBEDDED_PG.DATA_DIR_UNUSABLE'
  | 'EMBEDDED_PG.INIT_FAILED'
  | 'EMBEDDED_PG.ALREADY_RUNNING'
  | 'EMBEDDED_PG.START_FAILED';

/** True when `error` is a DbError, optionally with exactly this `code`. */
export function isDbError(error: unknown, code?: DbErrorCode): error is DbError {
  return error instanceof DbError && (code === undefined || error.code === code);
}
