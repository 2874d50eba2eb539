// vitest globalSetup for the integration and e2e projects: one PostgreSQL server per run, on
// which each test file creates its own database (test/support/database.ts).
// DATABASE_URL set (CI: the machine's server): use that server. Otherwise start the embedded
// PostgreSQL in a temporary directory and stop it when the run ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '@app/db';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of a server where tests may create and drop databases. */
    postgresServerUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.DATABASE_URL;
  if (external) {
    project.provide('postgresServerUrl', external);
    return undefined;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'clm-test-pg-'));
  const server = await startEmbeddedPostgres({ dataDir, database: 'postgres' });
  project.provide('postgresServerUrl', server.url);
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
