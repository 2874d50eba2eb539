import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, isDbError, pendingMigrations, PRISMA_MIGRATION_LOCK, type DbErrorCode } from '@app/db';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const repoMigrations = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));
const migrationNames = readdirSync(repoMigrations, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function expectDbError(promise: Promise<unknown>, code: DbErrorCode): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isDbError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  return error as Error;
}

describe('migration runner on an empty database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db?.drop());

  it('reports every migration pending, applies them in order, then none is pending', async () => {
    expect(migrationNames.length).toBeGreaterThan(0);
    expect(await pendingMigrations(db.url)).toEqual(migrationNames);

    const logged: string[] = [];
    expect(await applyMigrations(db.url, { log: (line) => logged.push(line) })).toEqual(migrationNames);
    expect(logged).toEqual(migrationNames.map((name) => `applied migration ${name}`));

    expect(await pendingMigrations(db.url)).toEqual([]);
    expect(await applyMigrations(db.url)).toEqual([]);
  });

  it('created the domain tables', async () => {
    const tables = await query<{ table_name: string }>(
      db.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(['providers', 'ocns', 'certificates', 'certificate_orders', 'audit_events', 'admin_tokens', 'publications']),
    );
  });

  it('keeps _prisma_migrations exactly as Prisma creates it', async () => {
    const columns = await query<{ column_name: string; data_type: string; character_maximum_length: number | null; is_nullable: string; column_default: string | null }>(
      db.url,
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', character_maximum_length: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', character_maximum_length: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: '0' },
    ]);
  });

  it('writes rows like prisma migrate deploy: uuid id, sha256 of the file, finished, one step', async () => {
    const rows = await query<{ id: string; checksum: string; finished_at: Date | null; migration_name: string; logs: string | null; rolled_back_at: Date | null; started_at: Date; applied_steps_count: number }>(
      db.url,
      'SELECT * FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(migrationNames);
    for (const row of rows) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.checksum).toBe(sha256(join(repoMigrations, row.migration_name, 'migration.sql')));
      expect(row).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 });
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });
});

describe('migration runner with two runners at once', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db?.drop());

  it('applies each migration exactly once; the other runner finds nothing to do', async () => {
    // Each runner has its own database session, as two service replicas starting together would;
    // the advisory lock is per session, so this is the same race as between two processes.
    const results = await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)]);
    expect(results.flat().sort()).toEqual(migrationNames);
    expect(results.filter((r) => r.length === 0)).toHaveLength(2);
    const rows = await query<{ n: string }>(db.url, 'SELECT count(*) AS n FROM _prisma_migrations');
    expect(Number(rows[0]!.n)).toBe(migrationNames.length);
  });
});

describe('migration runner refusals', () => {
  let dir: string | undefined;
  let db: TestDatabase;

  /** A copy of the real migrations plus `extra` folders, so tests can add and edit freely. */
  function migrationsWith(extra: Record<string, string> = {}): string {
    dir = mkdtempSync(join(tmpdir(), 'clm-migrations-'));
    cpSync(repoMigrations, dir, { recursive: true });
    for (const [name, sql] of Object.entries(extra)) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), sql);
    }
    return dir;
  }

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterEach(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    await db.drop();
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db?.drop());

  it('applies a later migration on top of earlier ones', async () => {
    const migrationsDir = migrationsWith({ '29990101000000_add_note': 'ALTER TABLE providers ADD COLUMN note text;' });
    expect(await applyMigrations(db.url, { migrationsDir })).toEqual([...migrationNames, '29990101000000_add_note']);
    const cols = await query(db.url, `SELECT 1 FROM information_schema.columns WHERE table_name = 'providers' AND column_name = 'note'`);
    expect(cols).toHaveLength(1);
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const migrationsDir = migrationsWith();
    await applyMigrations(db.url, { migrationsDir });
    const file = join(migrationsDir, migrationNames[0]!, 'migration.sql');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n-- an innocent-looking edit\n`);
    const error = await expectDbError(applyMigrations(db.url, { migrationsDir }), 'DB.MIGRATION_MODIFIED');
    expect(error.message).toContain(migrationNames[0]);
  });

  it('rolls a failing migration back entirely and records nothing', async () => {
    const migrationsDir = migrationsWith({
      '29990101000000_broken': 'CREATE TABLE half_done (id int);\nSELECT 1 / 0;',
    });
    const error = await expectDbError(applyMigrations(db.url, { migrationsDir }), 'DB.MIGRATION_FAILED');
    expect(error.message).toMatch(/29990101000000_broken failed \(SQLSTATE 22012\): division by zero/);
    // Earlier migrations committed; the broken one left neither its table nor a row.
    expect(await pendingMigrations(db.url, { migrationsDir })).toEqual(['29990101000000_broken']);
    expect(await query(db.url, `SELECT to_regclass('half_done') AS t`)).toEqual([{ t: null }]);
  });

  it('refuses a database migrated by a newer build', async () => {
    const newer = migrationsWith({ '29990101000000_future': 'SELECT 1;' });
    await applyMigrations(db.url, { migrationsDir: newer });
    await expectDbError(applyMigrations(db.url, { migrationsDir: repoMigrations }), 'DB.MIGRATION_UNKNOWN');
  });

  it('refuses to continue after a migration Prisma started and never finished', async () => {
    const migrationsDir = migrationsWith({ '29990101000000_next': 'SELECT 1;' });
    await applyMigrations(db.url, { migrationsDir: repoMigrations });
    await query(
      db.url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count)
       VALUES (gen_random_uuid()::text, repeat('0', 64), '29990101000000_next', 'ERROR: something', now(), 0)`,
    );
    await expectDbError(applyMigrations(db.url, { migrationsDir }), 'DB.MIGRATION_UNFINISHED');
    // Marked rolled back (prisma migrate resolve --rolled-back), it is applied again.
    await query(db.url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '29990101000000_next'`);
    expect(await applyMigrations(db.url, { migrationsDir })).toEqual(['29990101000000_next']);
  });

  it('gives up with a clear error when another process holds the migration lock too long', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATION_LOCK]);
      const error = await expectDbError(applyMigrations(db.url, { lockTimeoutMs: 300 }), 'DB.MIGRATION_LOCK_TIMEOUT');
      expect(error.message).toContain(String(PRISMA_MIGRATION_LOCK));
      expect(await pendingMigrations(db.url)).toEqual(migrationNames);
    } finally {
      await holder.end();
    }
    // Once released, a run goes through.
    expect(await applyMigrations(db.url, { lockTimeoutMs: 5_000 })).toEqual(migrationNames);
  });
});
