import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, pendingMigrations } from '@app/db';
import { diffMigrationsToSchema, ensureInstalled, runPrisma, schemaPath } from '../../tools/prisma-check/offline-prisma.mjs';
import { createTestDatabase } from '../support/database.js';

const migrationNames = readdirSync(fileURLToPath(new URL('../../prisma/migrations', import.meta.url)), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

// The runner claims that Prisma's own tooling agrees with it. Checked with Prisma's real schema
// engine (Prisma 6's WASM build in tools/prisma-check, installed on first use). `migrate deploy`
// takes ~10 s longer than its work: the WASM engine leaves its 10 s advisory-lock timer running.
describe('agreement with Prisma Migrate', () => {
  beforeAll(() => ensureInstalled(), 180_000);

  it('prisma migrate status and deploy accept a database migrated by the runner', async () => {
    const db = await createTestDatabase();
    try {
      const status = runPrisma(['migrate', 'status'], db.url);
      expect(status.stdout, status.stderr).toContain('Database schema is up to date!');
      expect(status.status).toBe(0);
      const deploy = runPrisma(['migrate', 'deploy'], db.url);
      expect(deploy.stdout, deploy.stderr).toContain('No pending migrations to apply.');
    } finally {
      await db.drop();
    }
  });

  it('the runner accepts a database migrated by prisma migrate deploy', async () => {
    const db = await createTestDatabase({ migrate: false });
    try {
      const deploy = runPrisma(['migrate', 'deploy'], db.url);
      expect(deploy.status, `${deploy.stdout}\n${deploy.stderr}`).toBe(0);
      expect(await pendingMigrations(db.url)).toEqual([]);
      expect(await applyMigrations(db.url)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('prisma migrate status sees what the runner has not applied yet', async () => {
    const db = await createTestDatabase({ migrate: false });
    try {
      const status = runPrisma(['migrate', 'status'], db.url);
      expect(status.status).not.toBe(0);
      expect(`${status.stdout}\n${status.stderr}`).toContain(migrationNames[0]);
    } finally {
      await db.drop();
    }
  });

  describe('drift check (npm run db:check)', () => {
    it('finds schema.prisma and the migrations in agreement', async () => {
      const db = await createTestDatabase({ migrate: false });
      try {
        expect(diffMigrationsToSchema(db.url)).toEqual({ sql: '-- This is an empty migration.', differs: false });
      } finally {
        await db.drop();
      }
    });

    it('reports a field added to the schema without a migration, with the SQL that is missing', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clm-drift-'));
      const db = await createTestDatabase({ migrate: false });
      try {
        const edited = readFileSync(schemaPath, 'utf8').replace(
          /(model Provider \{\n)/,
          '$1  nickname String? @map("nickname")\n',
        );
        expect(edited).toContain('nickname String?');
        const schemaFile = join(dir, 'schema.prisma');
        writeFileSync(schemaFile, edited);
        const drift = diffMigrationsToSchema(db.url, { schemaFile });
        expect(drift.differs).toBe(true);
        expect(drift.sql).toMatch(/ALTER TABLE "providers" ADD COLUMN\s+"nickname" TEXT;/);
      } finally {
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
