import type { Command } from 'commander';
import { applyMigrations, pendingMigrations, startEmbeddedPostgres } from '@app/db';
import { prepareDataDir } from '../../boot/runtime.js';
import { loadConfig } from '../../config/config.js';
import { join } from 'node:path';

/**
 * `clm db migrate|status`: the same migration runner the service uses at start-up, against
 * DATABASE_URL or, when it is unset, the embedded PostgreSQL under CLM_DATA_DIR (which must not
 * be running under a service at the same time: the server refuses a second instance).
 */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('database schema (reads DATABASE_URL / CLM_DATA_DIR like the service)');

  db.command('migrate')
    .description('apply pending migrations from prisma/migrations')
    .action(async () => {
      await withDatabase(async (url) => {
        const applied = await applyMigrations(url, { log: (line) => process.stderr.write(`${line}\n`) });
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema up to date\n');
      });
    });

  db.command('status')
    .description('list migrations not yet applied; exit 1 when there are some')
    .action(async () => {
      await withDatabase(async (url) => {
        const pending = await pendingMigrations(url);
        process.stdout.write(pending.length ? `pending: ${pending.join(', ')}\n` : 'schema up to date\n');
        if (pending.length) process.exitCode = 1;
      });
    });
}

async function withDatabase(work: (url: string) => Promise<void>): Promise<void> {
  const config = loadConfig();
  if (config.databaseUrl) return work(config.databaseUrl);
  prepareDataDir(config.dataDir);
  const pg = await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'postgres') });
  try {
    await work(pg.url);
  } finally {
    await pg.stop();
  }
}
