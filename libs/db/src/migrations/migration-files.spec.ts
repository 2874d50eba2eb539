import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDbError } from '../errors.js';
import { readMigrationFiles } from './migration-files.js';
import { defaultMigrationsDir, packageRoot } from './package-root.js';

describe('readMigrationFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clm-migration-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function migration(name: string, sql: string) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  }

  it('lists migration folders in name order with the SHA-256 of their file', () => {
    migration('20270101000000_second', 'SELECT 2;\r\n');
    migration('20260101000000_first', 'SELECT 1;\n');
    mkdirSync(join(dir, '20280101000000_no_sql_yet'));
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');

    const files = readMigrationFiles(dir);
    expect(files.map((f) => f.name)).toEqual(['20260101000000_first', '20270101000000_second']);
    // Bytes as on disk, line endings included: what Prisma hashes.
    expect(files[1]!.checksum).toBe(createHash('sha256').update('SELECT 2;\r\n').digest('hex'));
    expect(files[0]!.sql).toBe('SELECT 1;\n');
  });

  it('reports a missing folder with a typed error', () => {
    let error: unknown;
    try {
      readMigrationFiles(join(dir, 'nope'));
    } catch (e) {
      error = e;
    }
    expect(isDbError(error, 'DB.MIGRATIONS_NOT_FOUND')).toBe(true);
  });
});

describe('packageRoot', () => {
  it('finds the shaken-clm package from this module, and its migrations', () => {
    const root = packageRoot();
    expect(defaultMigrationsDir()).toBe(join(root, 'prisma', 'migrations'));
    expect(readMigrationFiles(defaultMigrationsDir()).length).toBeGreaterThan(0);
  });

  it('walks past package.json files of other packages', () => {
    const outer = mkdtempSync(join(tmpdir(), 'clm-root-'));
    try {
      writeFileSync(join(outer, 'package.json'), JSON.stringify({ name: 'shaken-clm' }));
      mkdirSync(join(outer, 'node_modules', 'other', 'dist'), { recursive: true });
      writeFileSync(join(outer, 'node_modules', 'other', 'package.json'), JSON.stringify({ name: 'other' }));
      expect(packageRoot(join(outer, 'node_modules', 'other', 'dist'))).toBe(outer);
    } finally {
      rmSync(outer, { recursive: true, force: true });
    }
  });

  it('fails with a typed error when there is no shaken-clm package above', () => {
    const lone = mkdtempSync(join(tmpdir(), 'clm-lone-'));
    try {
      expect(() => packageRoot(lone)).toThrow(/no package.json named shaken-clm/);
    } finally {
      rmSync(lone, { recursive: true, force: true });
    }
  });
});
