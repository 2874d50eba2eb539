import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DbError } from '../errors.js';
import { readMigrationFiles, type MigrationFile } from './migration-files.js';
import { defaultMigrationsDir } from './package-root.js';

export interface MigrationOptions {
  /** Folder holding `<timestamp>_<name>/migration.sql`; default: the package's prisma/migrations. */
  readonly migrationsDir?: string;
  /** Called once per migration applied, with a one-line message. */
  readonly log?: (message: string) => void;
  /** How long to wait for another process's migration run to finish; default 60 s. */
  readonly lockTimeoutMs?: number;
}

/**
 * The advisory lock key Prisma's schema engine takes around `migrate deploy`/`dev`; using the
 * same key keeps this runner and a real `prisma migrate deploy` from ever running together.
 */
export const PRISMA_MIGRATION_LOCK = 72707369;

/** The table exactly as Prisma's schema engine creates it on PostgreSQL. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies the migrations the database does not have yet, in name order, and returns their names.
 *
 * Each migration runs in its own transaction together with its `_prisma_migrations` row, so a
 * failing migration leaves neither schema changes nor a "failed" row behind. (Consequence: a
 * migration must not use statements PostgreSQL refuses inside a transaction block, such as
 * CREATE INDEX CONCURRENTLY.) Rows match what `prisma migrate deploy` writes (id UUID, checksum =
 * SHA-256 hex of migration.sql, applied_steps_count 1), so Prisma's own tooling agrees with it.
 *
 * Refuses to run when an applied migration's file changed, when the database records migrations
 * this build does not know, or when a Prisma run left one unfinished.
 */
export async function applyMigrations(databaseUrl: string, options: MigrationOptions = {}): Promise<string[]> {
  const files = readMigrationFiles(options.migrationsDir ?? defaultMigrationsDir());
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 60_000);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const pending = pendingFiles(files, await appliedRows(client), { strict: true });
      for (const migration of pending) {
        await applyOne(client, migration);
        options.log?.(`applied migration ${migration.name}`);
      }
      return pending.map((m) => m.name);
    } finally {
      // Never mask the real error; a lost connection has released the session lock anyway.
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/**
 * Names of the migrations in this build that the database has not applied (all of them for an
 * empty database). Reads only; takes no lock, so it is cheap enough for a readiness probe.
 */
export async function pendingMigrations(databaseUrl: string, options: Pick<MigrationOptions, 'migrationsDir'> = {}): Promise<string[]> {
  const files = readMigrationFiles(options.migrationsDir ?? defaultMigrationsDir());
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query<{ table: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS "table"`);
    if (exists.rows[0]?.table == null) return files.map((f) => f.name);
    return pendingFiles(files, await appliedRows(client), { strict: false }).map((m) => m.name);
  } finally {
    await client.end();
  }
}

async function acquireLock(client: pg.Client, timeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait for the advisory lock, then is reset so that it does not
  // apply to the migrations' own statements.
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATION_LOCK]);
  } catch (error) {
    if (sqlState(error) === '55P03') {
      throw new DbError(
        'DB.MIGRATION_LOCK_TIMEOUT',
        `another process held the migration lock (pg_advisory_lock(${PRISMA_MIGRATION_LOCK})) for more than ${timeoutMs} ms`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.query('RESET lock_timeout');
  }
}

async function appliedRows(client: pg.Client): Promise<MigrationRow[]> {
  const result = await client.query<MigrationRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
  );
  return result.rows;
}

/**
 * The files still to apply. Rows rolled back (`prisma migrate resolve --rolled-back`) do not
 * count as applied, as in Prisma. With `strict`, inconsistencies are errors; without, they are
 * left for applyMigrations to report and only the plain answer is given.
 */
function pendingFiles(files: readonly MigrationFile[], rows: readonly MigrationRow[], { strict }: { strict: boolean }): MigrationFile[] {
  const live = rows.filter((row) => row.rolled_back_at === null);
  const finished = new Map(live.filter((row) => row.finished_at !== null).map((row) => [row.migration_name, row]));
  if (strict) {
    const unfinished = live.find((row) => row.finished_at === null);
    if (unfinished) {
      throw new DbError(
        'DB.MIGRATION_UNFINISHED',
        `migration ${unfinished.migration_name} was started and never finished; repair the database, then mark it with prisma migrate resolve`,
      );
    }
    const known = new Map(files.map((file) => [file.name, file]));
    for (const row of finished.values()) {
      const file = known.get(row.migration_name);
      if (!file) {
        throw new DbError(
          'DB.MIGRATION_UNKNOWN',
          `the database has migration ${row.migration_name}, which this build does not have: it was migrated by a newer version`,
        );
      }
      if (file.checksum !== row.checksum) {
        throw new DbError(
          'DB.MIGRATION_MODIFIED',
          `migration ${row.migration_name} was changed after it was applied (checksum ${row.checksum} recorded, ${file.checksum} on disk); restore the file and put the change in a new migration`,
        );
      }
    }
  }
  return files.filter((file) => !finished.has(file.name));
}

async function applyOne(client: pg.Client, migration: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    // One simple-protocol query: PostgreSQL runs the script statement by statement, including
    // dollar-quoted function bodies, exactly as Prisma's engine sends it.
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const state = sqlState(error);
    throw new DbError(
      'DB.MIGRATION_FAILED',
      `migration ${migration.name} failed${state ? ` (SQLSTATE ${state})` : ''}: ${error instanceof Error ? error.message : String(error)}; nothing of it was applied`,
      { cause: error },
    );
  }
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
