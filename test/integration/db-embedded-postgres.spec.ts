import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, isDbError, startEmbeddedPostgres } from '@app/db';

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A fresh directory for a data dir to live in. As root the server runs as user postgres, which
 * must be able to pass through it (mkdtemp makes it 0700): callers grant search permission.
 */
function parentDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'clm-embedded-'));
  chmodSync(dir, 0o711);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// Runs whether or not DATABASE_URL is set: this is the embedded server itself under test.
describe('embedded PostgreSQL', () => {
  const dataDir = join(parentDir(), 'postgres');
  const started: EmbeddedPostgres[] = [];
  afterAll(async () => {
    for (const server of started) await server.stop();
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('initialises a new data directory, serves its database, and keeps data across a restart', async () => {
    const first = await startEmbeddedPostgres({ dataDir });
    started.push(first);
    expect(first.url).toMatch(/^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/clm$/);
    expect(first.pgdata).toBe(join(dataDir, 'pgdata'));
    await sql(first.url, `CREATE TABLE kept (note text); INSERT INTO kept VALUES ('survives a restart')`);
    const [version] = await sql<{ server_version_num: string }>(first.url, 'SHOW server_version_num');
    expect(Number(version!.server_version_num)).toBeGreaterThanOrEqual(150000);
    await first.stop();
    await first.stop(); // idempotent
    await expect(sql(first.url, 'SELECT 1')).rejects.toThrow();

    const port = await freePort();
    const second = await startEmbeddedPostgres({ dataDir, port });
    started.push(second);
    expect(second.port).toBe(port);
    expect(await sql(second.url, 'SELECT note FROM kept')).toEqual([{ note: 'survives a restart' }]);
  });

  it('keeps the superuser password private and requires it', async () => {
    const server = started.at(-1)!;
    expect(statSync(join(dataDir, 'superuser-password')).mode & 0o777).toBe(0o600);
    expect(statSync(server.pgdata).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) {
      // PostgreSQL refuses root: the cluster belongs to OS user postgres.
      expect(statSync(server.pgdata).uid).not.toBe(0);
    }
    const wrong = new URL(server.url);
    wrong.password = 'not-the-password';
    await expect(sql(wrong.toString(), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });

  it('explains when, as root, user postgres cannot reach the data directory', async (context) => {
    if (process.getuid?.() !== 0) context.skip();
    const closed = mkdtempSync(join(tmpdir(), 'clm-embedded-'));
    try {
      const error = await startEmbeddedPostgres({ dataDir: join(closed, 'postgres') }).catch((e: unknown) => e);
      expect(isDbError(error, 'EMBEDDED_PG.DATA_DIR_UNUSABLE'), String(error)).toBe(true);
      expect((error as Error).message).toContain(`chmod o+x ${closed}`);
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });

  it('refuses to start a second server on a data directory in use', async () => {
    const error = await startEmbeddedPostgres({ dataDir }).then(
      (server) => {
        started.push(server);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(isDbError(error, 'EMBEDDED_PG.ALREADY_RUNNING'), String(error)).toBe(true);
  });

  it('reports a taken port it was told to use', async () => {
    const other = join(parentDir(), 'postgres');
    try {
      const error = await startEmbeddedPostgres({ dataDir: other, port: started.at(-1)!.port }).then(
        (server) => {
          started.push(server);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(isDbError(error, 'EMBEDDED_PG.START_FAILED'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/could not bind|in use/i);
    } finally {
      rmSync(join(other, '..'), { recursive: true, force: true });
    }
  });
});
