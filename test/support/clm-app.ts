import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Keystore, loadKek } from '@app/keystore';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpApp } from '../../apps/clm/src/boot/http-app.js';
import type { Clock } from '../../apps/clm/src/common/clock.js';
import { createRootLogger } from '../../apps/clm/src/common/logger.js';
import { loadConfig } from '../../apps/clm/src/config/config.js';
import type { RuntimeContext, StiTrust } from '../../apps/clm/src/config/config.module.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface InProcessClm {
  readonly app: NestFastifyApplication;
  readonly runtime: RuntimeContext;
  readonly db: TestDatabase;
  close(): Promise<void>;
}

export interface InProcessClmOptions {
  /** Environment for loadConfig (jobs are off unless asked for). */
  readonly env?: Record<string, string>;
  readonly trust?: StiTrust;
  /** An existing keystore (e.g. to test KEK rotation); default: a fresh one. */
  readonly keystore?: Keystore;
  readonly db?: TestDatabase;
  /** e.g. a ManualClock, to move time forward through renewals. */
  readonly clock?: Clock;
}

/**
 * The real service (same modules, pipes and filter as `npm start`) inside the test process, on a
 * fresh database of its own, listening on a loopback port. For integration tests that call
 * services directly or over HTTP without the cost of a child process.
 */
export async function startInProcessClm(options: InProcessClmOptions = {}): Promise<InProcessClm> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clm-int-'));
  const db = options.db ?? (await createTestDatabase());
  const config = loadConfig({ CLM_JOBS_ENABLED: 'false', CLM_SANDBOX: 'off', CLM_LOG_LEVEL: 'silent', ...options.env, CLM_DATA_DIR: dataDir, DATABASE_URL: db.url });
  const keystore = options.keystore ?? new Keystore(await loadKek({ keyFile: join(dataDir, 'master.key') }));
  const runtime: RuntimeContext = { config, databaseUrl: db.url, keystore, trust: options.trust ?? { stiPaRootsPem: [], tlsCaPem: [] }, clock: options.clock };
  const app = await createHttpApp(runtime, createRootLogger(config.logLevel));
  await app.listen(0, '127.0.0.1');
  return {
    app,
    runtime,
    db,
    close: async () => {
      await app.close();
      if (!options.db) await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
