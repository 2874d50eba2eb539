import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbError } from '../errors.js';

/** One `prisma/migrations/<timestamp>_<name>/migration.sql`. */
export interface MigrationFile {
  /** The folder name, which Prisma records as migration_name. */
  readonly name: string;
  readonly sql: string;
  /** Lowercase hex SHA-256 of the file's bytes, as Prisma records it. */
  readonly checksum: string;
}

/** The migrations in `dir`, in the order Prisma applies them (folder name order). */
export function readMigrationFiles(dir: string): MigrationFile[] {
  if (!existsSync(dir)) throw new DbError('DB.MIGRATIONS_NOT_FOUND', `migrations folder ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}
