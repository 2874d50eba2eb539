import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger as Pino } from 'pino';
import { applyMigrations, startEmbeddedPostgres } from '@app/db';
import { Keystore, loadKek } from '@app/keystore';
import type { ClmConfig } from '../config/config.js';
import type { RuntimeContext, StiTrust } from '../config/config.module.js';
import { type EmbeddedStiCr, startEmbeddedStiCr } from '../publishing/embedded/embedded-sti-cr.js';
import { type EmbeddedSandbox, startEmbeddedSandbox } from './embedded-sandbox.js';

export interface PreparedRuntime {
  readonly runtime: RuntimeContext;
  /** Stops what preparation started (the embedded PostgreSQL), in reverse order. */
  stop(): Promise<void>;
  /**
   * Settles if something preparation started and the service cannot run without dies under it
   * (the embedded PostgreSQL): the service then stops rather than answer 503s forever.
   */
  readonly componentFailure: Promise<string>;
}

/**
 * What must exist before the HTTP app can start: the data directory, a database (DATABASE_URL
 * or an embedded PostgreSQL kept under the data directory), its migrations, and the key-
 * encryption key. Each step logs one line saying where it is.
 */
export async function prepareRuntime(config: ClmConfig, log: Pino): Promise<PreparedRuntime> {
  prepareDataDir(config.dataDir);
  const stops: Array<() => Promise<void>> = [];
  let componentFailure = new Promise<string>(() => undefined);
  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === undefined) {
      const dataDir = join(config.dataDir, 'postgres');
      const pg = await startEmbeddedPostgres({ dataDir, port: config.embeddedPostgresPort || undefined });
      stops.push(() => pg.stop());
      componentFailure = pg.unexpectedExit.then((how) => `the embedded PostgreSQL stopped: ${how}`);
      databaseUrl = pg.url;
      log.info({ component: 'database', mode: 'embedded', dataDir, url: redactUrl(pg.url) }, 'embedded PostgreSQL running');
    } else {
      log.info({ component: 'database', mode: 'external', url: redactUrl(databaseUrl) }, 'using DATABASE_URL');
    }
    const applied = await applyMigrations(databaseUrl);
    log.info({ component: 'migrations', applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database schema up to date');

    const kek = await loadKek({ masterKey: config.masterKey, keyFile: config.masterKeyFile, previous: config.previousMasterKeys });
    const keystore = new Keystore(kek);
    log.info(
      { component: 'keystore', source: config.masterKey ? 'CLM_MASTER_KEY' : config.masterKeyFile, kekId: keystore.currentKekId },
      'key-encryption key loaded',
    );
    let sandbox: EmbeddedSandbox | undefined;
    if (config.sandbox === 'embedded') {
      sandbox = await startEmbeddedSandbox(config.dataDir, config.sandboxPort, log);
      stops.push(() => sandbox!.stop());
    }
    // The filesystem STI-CR's HTTPS listener; its local TLS root is trusted by our own x5u checks.
    const stiCr: EmbeddedStiCr | undefined = await startEmbeddedStiCr(config.stiCr, config.dataDir, log);
    if (stiCr) stops.push(() => stiCr.stop());
    // The sandbox's roots are kept apart: trusted for sandbox STI-PA accounts only (StiTrust).
    const trust: StiTrust = {
      stiPaRootsPem: config.stiPaRootsFiles.map((f) => readFileSync(f, 'utf8')),
      tlsCaPem: [...config.tlsCaFiles.map((f) => readFileSync(f, 'utf8')), ...(stiCr?.tlsRootPem ? [stiCr.tlsRootPem] : [])],
      ...(sandbox ? { sandbox: { stiPaRootsPem: [sandbox.stiPaRootPem], tlsRootPem: sandbox.tlsRootPem } } : {}),
    };
    const embeddedSandbox = sandbox
      ? { stiPaApi: sandbox.stiPaApi, acmeDirectory: sandbox.acmeDirectory, tlsRootPem: sandbox.tlsRootPem }
      : undefined;
    return {
      runtime: { config, databaseUrl, keystore, trust, embeddedSandbox },
      componentFailure,
      stop: async () => {
        for (const stop of stops.reverse()) await stop();
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * The data directory holds the KEK file (0600) and, in the embedded default, the PostgreSQL
 * cluster. Running as root, the embedded server runs as OS user postgres, which must be able to
 * pass through (x) but not list (r) this folder: 0711. Otherwise 0700.
 */
export function prepareDataDir(dataDir: string): void {
  const mode = process.getuid?.() === 0 ? 0o711 : 0o700;
  mkdirSync(dataDir, { recursive: true, mode });
  if (process.getuid?.() === 0 && (statSync(dataDir).mode & 0o011) !== 0o011) chmodSync(dataDir, (statSync(dataDir).mode & 0o700) | 0o011);
}

/** Connection strings may carry a password: logs get the host and database only. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
