import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DbError } from '../errors.js';

const PACKAGE_NAME = 'shaken-clm';

/**
 * The folder of the shaken-clm package.json above this module. The same code runs from
 * libs/db/src (vitest, tsx) and from dist/libs/db/src (built service, installed package), so the
 * migrations are found by walking up rather than by a fixed relative path.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readName(manifest) === PACKAGE_NAME) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new DbError('DB.MIGRATIONS_NOT_FOUND', `no package.json named ${PACKAGE_NAME} above ${from}`);
    }
    dir = parent;
  }
}

function readName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string'
      ? parsed.name
      : undefined;
  } catch {
    return undefined;
  }
}

/** prisma/migrations of the shaken-clm package. */
export function defaultMigrationsDir(): string {
  return join(packageRoot(), 'prisma', 'migrations');
}
