import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { Kek } from '@app/keystore';
import { envReader } from '@app/local-infra';
import { parseStiCrStoreConfig, type StiCrStoreConfig, isStorageError } from '@app/storage';
import { apiListenerSecurity, type ApiListenerSecurity } from './api-tls.js';

/**
 * Everything the service reads from its environment, parsed and validated once at boot
 * (ARCHITECTURE.md habit 3). Bad values fail fast with the variable's name; nothing else in the
 * service reads process.env.
 */
export interface ClmConfig {
  /** Unset means: run an embedded PostgreSQL under dataDir. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** HTTPS for the API listener, or why plain http is acceptable (loopback, a TLS-terminating proxy). */
  readonly api: ApiListenerSecurity;
  /** Port of the embedded PostgreSQL; 0 picks a free one at start. */
  readonly embeddedPostgresPort: number;
  /** base64 or hex of a 32-byte key-encryption key; unset means the key file in dataDir. */
  readonly masterKey?: string;
  readonly masterKeyFile: string;
  /** Older KEKs still accepted when opening sealed blobs, until `clm keys rewrap` ran. */
  readonly previousMasterKeys: readonly string[];
  /** Bootstrap admin token used instead of a generated one on first start. */
  readonly bootstrapAdminToken?: string;
  readonly logLevel: LogLevel;
  readonly jobsEnabled: boolean;
  /**
   * `embedded`: run the local STI-PA/STI-CA sandbox on loopback and register it; `off`: don't.
   * Default: embedded without DATABASE_URL (the embedded default), off with it.
   */
  readonly sandbox: 'embedded' | 'off';
  /** Port of the embedded sandbox; 0 picks a free one. */
  readonly sandboxPort: number;
  /** PEM file(s) with the STI-PA root(s) to pin, for real STI-PA environments. */
  readonly stiPaRootsFiles: readonly string[];
  /** PEM file(s) with extra TLS roots for outbound HTTPS. */
  readonly tlsCaFiles: readonly string[];
  readonly procurement: ProcurementSettings;
  readonly stiCr: StiCrSettings;
  /**
   * How long a certificate superseded by a `revoke` with replacement stays unrevoked (reasons
   * other than keyCompromise and privilegeWithdrawn): PASSporTs signed just before the swap are
   * still being verified, and verifiers cache its x5u (STIR-SHAKEN.md §6). CLM_REVOCATION_GRACE_HOURS.
   */
  readonly revocationGraceMs: number;
}

/** Where certificate chains are published (issue 6) and how the embedded STI-CR serves them. */
export interface StiCrSettings {
  /** The store, validated by @app/storage: files under the data directory, or an S3 bucket. */
  readonly store: StiCrStoreConfig;
  /**
   * The filesystem store's own HTTPS listener, serving `/sti-cr/*` (unset for S3, which a CDN or
   * the bucket website serves). Without a certificate file, a local TLS root is made on first start.
   */
  readonly listener?: { readonly host: string; readonly port: number; readonly tlsCertFile?: string; readonly tlsKeyFile?: string };
  /** How long verifiers may keep an x5u cached: a certificate's URL keeps serving this long after its notAfter. */
  readonly verifierCacheWindowDays: number;
}

/** How the certificate-order worker polls, leases and backs off (issue 5). */
export interface ProcurementSettings {
  /** Time between scans for due orders (a POST also wakes the worker at once). */
  readonly pollIntervalMs: number;
  /** Orders one process works on at the same time. */
  readonly concurrency: number;
  /** How long a claimed order stays ours; a crashed worker's order is taken over after it. */
  readonly leaseMs: number;
  /** First retry delay after a failed step; doubles with each further failure (1 h × 2^(n−1)). */
  readonly backoffBaseMs: number;
  /** Longest retry delay. */
  readonly backoffCapMs: number;
  /** Failed attempts at one step before the order is given up as failed. */
  readonly maxAttempts: number;
  /**
   * TEST HOOK, inert unless CLM_TEST_HOOK_HALT_ORDER is set, and accepted only in a test run
   * (NODE_ENV=test or CLM_ENABLE_TEST_HOOKS=1): `after:<state>` halts the worker
   * right after it persisted that order state, `before:<state>` right before (after the step's
   * side effect), so an end-to-end test can SIGKILL the process at that point.
   */
  readonly testHookHaltOrder?: { readonly when: 'before' | 'after'; readonly state: string };
}

const ORDER_STATES_FOR_HOOK = ['key_generated', 'account_ready', 'token_obtained', 'order_created', 'challenge_answered', 'finalized', 'downloaded', 'checked', 'published', 'active'];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** One row per variable: the README's configuration table is written from this list. */
export const CONFIG_VARIABLES = [
  'DATABASE_URL',
  'CLM_DATA_DIR',
  'CLM_HOST',
  'CLM_PORT',
  'CLM_TLS_CERT_FILE',
  'CLM_TLS_KEY_FILE',
  'CLM_ALLOW_PLAINTEXT_API',
  'CLM_EMBEDDED_PG_PORT',
  'CLM_MASTER_KEY',
  'CLM_MASTER_KEY_FILE',
  'CLM_PREVIOUS_MASTER_KEYS',
  'CLM_ADMIN_TOKEN',
  'CLM_LOG_LEVEL',
  'CLM_JOBS_ENABLED',
  'CLM_SANDBOX',
  'CLM_SANDBOX_PORT',
  'CLM_STI_PA_ROOTS_FILE',
  'CLM_TLS_CA_FILE',
  'CLM_PROCUREMENT_POLL_INTERVAL_MS',
  'CLM_PROCUREMENT_CONCURRENCY',
  'CLM_PROCUREMENT_LEASE_MS',
  'CLM_PROCUREMENT_BACKOFF_BASE_MS',
  'CLM_PROCUREMENT_BACKOFF_CAP_MS',
  'CLM_PROCUREMENT_MAX_ATTEMPTS',
  'CLM_TEST_HOOK_HALT_ORDER',
  'CLM_ENABLE_TEST_HOOKS',
  'CLM_STI_CR_DRIVER',
  'CLM_STI_CR_DIR',
  'CLM_STI_CR_PUBLIC_URL',
  'CLM_STI_CR_MAX_AGE',
  'CLM_STI_CR_CACHE_WINDOW_DAYS',
  'CLM_STI_CR_HOST',
  'CLM_STI_CR_PORT',
  'CLM_STI_CR_TLS_CERT_FILE',
  'CLM_STI_CR_TLS_KEY_FILE',
  'CLM_STI_CR_S3_BUCKET',
  'CLM_STI_CR_S3_PREFIX',
  'CLM_STI_CR_S3_REGION',
  'CLM_STI_CR_S3_ENDPOINT',
  'CLM_STI_CR_S3_PATH_STYLE',
  'CLM_REVOCATION_GRACE_HOURS',
] as const;

export class ConfigError extends Error {
  readonly code = 'CONFIG.INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): ClmConfig {
  const problems: string[] = [];
  const { str, int, bool } = envReader(env, problems);
  const kek = (name: string, raw: string | undefined): string | undefined => {
    if (raw === undefined) return undefined;
    if (!isKekEncoding(raw)) {
      problems.push(`${name}: must be 32 bytes as 64 hex digits or base64 (value not shown)`);
    }
    return raw;
  };

  const databaseUrl = str('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: must be a postgresql:// connection string');
  }
  const dataDirRaw = str('CLM_DATA_DIR') ?? '.clm-data';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);
  const masterKeyFileRaw = str('CLM_MASTER_KEY_FILE');
  const previous = (str('CLM_PREVIOUS_MASTER_KEYS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  previous.forEach((k, i) => kek(`CLM_PREVIOUS_MASTER_KEYS[${i}]`, k));

  const logLevelRaw = (str('CLM_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevelRaw as LogLevel)) {
    problems.push(`CLM_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got "${logLevelRaw}")`);
  }
  const bootstrapAdminToken = str('CLM_ADMIN_TOKEN');
  if (bootstrapAdminToken !== undefined && bootstrapAdminToken.length < 32) {
    problems.push('CLM_ADMIN_TOKEN: must be at least 32 characters (value not shown)');
  }

  // The sandbox belongs to the embedded default: with a real database (production, staging) it is
  // off unless asked for, so its private STI-PA root is never trusted there by accident.
  const sandbox = (str('CLM_SANDBOX') ?? (databaseUrl === undefined ? 'embedded' : 'off')).toLowerCase();
  if (sandbox !== 'embedded' && sandbox !== 'off') problems.push(`CLM_SANDBOX: must be embedded or off (got "${sandbox}")`);
  // Trust files are read at boot, after the database has started: check them here, by name.
  const files = (name: string) => {
    const paths = (str(name) ?? '').split(',').map((f) => f.trim()).filter(Boolean).map((f) => resolve(cwd, f));
    for (const path of paths) {
      const problem = pemCertificateFileProblem(path);
      if (problem) problems.push(`${name}: ${path} ${problem}`);
    }
    return paths;
  };

  const haltRaw = str('CLM_TEST_HOOK_HALT_ORDER');
  let testHookHaltOrder: ProcurementSettings['testHookHaltOrder'];
  // A hook that freezes the worker must never be live in production by a stray variable: it is
  // honoured only in a test run, and anywhere else its presence stops the start.
  const testHooksEnabled = str('NODE_ENV') === 'test' || bool('CLM_ENABLE_TEST_HOOKS', false);
  if (haltRaw !== undefined && !testHooksEnabled) {
    problems.push('CLM_TEST_HOOK_HALT_ORDER: a test hook; set only in tests (NODE_ENV=test or CLM_ENABLE_TEST_HOOKS=1), unset it in production');
  } else if (haltRaw !== undefined) {
    const [when, state] = haltRaw.split(':');
    // Every state but the first can be reached "before" (its step's side effect done, not yet persisted).
    const reachable = state !== undefined && ORDER_STATES_FOR_HOOK.includes(state) && !(when === 'before' && state === 'key_generated');
    if ((when === 'before' || when === 'after') && reachable) testHookHaltOrder = { when, state };
    else problems.push(`CLM_TEST_HOOK_HALT_ORDER: must be before:<order state> or after:<order state> (got "${haltRaw}")`);
  }
  const backoffBaseMs = int('CLM_PROCUREMENT_BACKOFF_BASE_MS', 3_600_000, 1, 7 * 86_400_000);
  const backoffCapMs = int('CLM_PROCUREMENT_BACKOFF_CAP_MS', 86_400_000, 1, 30 * 86_400_000);
  if (backoffCapMs < backoffBaseMs) problems.push('CLM_PROCUREMENT_BACKOFF_CAP_MS: must not be below CLM_PROCUREMENT_BACKOFF_BASE_MS');

  const host = str('CLM_HOST') ?? '127.0.0.1';
  const config: ClmConfig = {
    databaseUrl,
    dataDir,
    host,
    port: int('CLM_PORT', 8080, 0, 65535),
    api: apiListenerSecurity(host, { str, bool }, cwd, problems),
    embeddedPostgresPort: int('CLM_EMBEDDED_PG_PORT', 0, 0, 65535),
    masterKey: kek('CLM_MASTER_KEY', str('CLM_MASTER_KEY')),
    masterKeyFile: masterKeyFileRaw ? resolve(cwd, masterKeyFileRaw) : resolve(dataDir, 'master.key'),
    previousMasterKeys: previous,
    bootstrapAdminToken,
    logLevel: logLevelRaw as LogLevel,
    jobsEnabled: bool('CLM_JOBS_ENABLED', true),
    sandbox: sandbox === 'off' ? 'off' : 'embedded',
    sandboxPort: int('CLM_SANDBOX_PORT', 8445, 0, 65535),
    stiPaRootsFiles: files('CLM_STI_PA_ROOTS_FILE'),
    tlsCaFiles: files('CLM_TLS_CA_FILE'),
    procurement: {
      pollIntervalMs: int('CLM_PROCUREMENT_POLL_INTERVAL_MS', 5_000, 50, 3_600_000),
      concurrency: int('CLM_PROCUREMENT_CONCURRENCY', 4, 1, 64),
      leaseMs: int('CLM_PROCUREMENT_LEASE_MS', 300_000, 1_000, 3_600_000),
      backoffBaseMs,
      backoffCapMs,
      maxAttempts: int('CLM_PROCUREMENT_MAX_ATTEMPTS', 10, 1, 1_000),
      ...(testHookHaltOrder ? { testHookHaltOrder } : {}),
    },
    stiCr: stiCrSettings(str, int, bool, dataDir, cwd, problems),
    revocationGraceMs: int('CLM_REVOCATION_GRACE_HOURS', 24, 0, 30 * 24) * 3_600_000,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

// Which variable each @app/storage config field comes from, so its problems name the variable.
const STI_CR_FIELD_VARIABLES: Readonly<Record<string, string>> = {
  'filesystem.rootDir': 'CLM_STI_CR_DIR',
  'filesystem.publicBaseUrl': 'CLM_STI_CR_PUBLIC_URL',
  'filesystem.cacheMaxAgeSeconds': 'CLM_STI_CR_MAX_AGE',
  's3.publicBaseUrl': 'CLM_STI_CR_PUBLIC_URL',
  's3.cacheMaxAgeSeconds': 'CLM_STI_CR_MAX_AGE',
  's3.bucket': 'CLM_STI_CR_S3_BUCKET',
  's3.prefix': 'CLM_STI_CR_S3_PREFIX',
  's3.region': 'CLM_STI_CR_S3_REGION',
  's3.endpoint': 'CLM_STI_CR_S3_ENDPOINT',
};

function stiCrSettings(
  str: (name: string) => string | undefined,
  int: (name: string, fallback: number, min: number, max: number) => number,
  bool: (name: string, fallback: boolean) => boolean,
  dataDir: string,
  cwd: string,
  problems: string[],
): StiCrSettings {
  const driver = (str('CLM_STI_CR_DRIVER') ?? 'filesystem').toLowerCase();
  if (driver !== 'filesystem' && driver !== 's3') problems.push(`CLM_STI_CR_DRIVER: must be filesystem or s3 (got "${driver}")`);
  // STIR-SHAKEN.md §6: verifiers cache an x5u for at least 24 h, so a shorter max-age is refused.
  const maxAge = int('CLM_STI_CR_MAX_AGE', 86_400, 86_400, 31_536_000);
  const verifierCacheWindowDays = int('CLM_STI_CR_CACHE_WINDOW_DAYS', 30, 1, 365);
  const explicitUrl = str('CLM_STI_CR_PUBLIC_URL');
  let publicUrl = explicitUrl;
  if (explicitUrl !== undefined) {
    const problem = x5uBaseProblem(explicitUrl);
    if (problem) problems.push(`CLM_STI_CR_PUBLIC_URL: ${problem}`);
  }

  let store: StiCrStoreConfig;
  let listener: StiCrSettings['listener'];
  if (driver === 's3') {
    if (explicitUrl === undefined) problems.push('CLM_STI_CR_PUBLIC_URL: required with the s3 driver (the https URL where the bucket prefix is served, e.g. a CDN)');
    const endpoint = str('CLM_STI_CR_S3_ENDPOINT');
    // Credentials are not configuration here: the AWS SDK reads its standard chain (env, profile, web identity, IMDS).
    store = {
      driver: 's3',
      bucket: str('CLM_STI_CR_S3_BUCKET') ?? '',
      prefix: str('CLM_STI_CR_S3_PREFIX') ?? '',
      region: str('CLM_STI_CR_S3_REGION') ?? '',
      ...(endpoint !== undefined ? { endpoint } : {}),
      forcePathStyle: bool('CLM_STI_CR_S3_PATH_STYLE', false),
      publicBaseUrl: publicUrl ?? '',
      cacheMaxAgeSeconds: maxAge,
    };
  } else {
    const host = str('CLM_STI_CR_HOST') ?? '127.0.0.1';
    const port = int('CLM_STI_CR_PORT', 8443, 1, 65535);
    const tlsCertFile = str('CLM_STI_CR_TLS_CERT_FILE');
    const tlsKeyFile = str('CLM_STI_CR_TLS_KEY_FILE');
    if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
      problems.push('CLM_STI_CR_TLS_CERT_FILE, CLM_STI_CR_TLS_KEY_FILE: give both or neither');
    }
    if (publicUrl === undefined) {
      if (host === '0.0.0.0' || host === '::') {
        problems.push(`CLM_STI_CR_PUBLIC_URL: required when CLM_STI_CR_HOST is the wildcard address ${host} (an x5u must name the host verifiers reach)`);
      } else if (port !== 443 && port !== 8443) {
        problems.push(`CLM_STI_CR_PORT: must be 443 or 8443 unless CLM_STI_CR_PUBLIC_URL is set (verifiers fetch x5u only on those ports; got ${port})`);
      }
      publicUrl = `https://${isIP(host) === 6 ? `[${host}]` : host}${port === 443 ? '' : `:${port}`}/sti-cr`;
    }
    listener = {
      host,
      port,
      ...(tlsCertFile !== undefined && tlsKeyFile !== undefined ? { tlsCertFile: resolve(cwd, tlsCertFile), tlsKeyFile: resolve(cwd, tlsKeyFile) } : {}),
    };
    const dir = str('CLM_STI_CR_DIR');
    store = { driver: 'filesystem', rootDir: dir === undefined ? resolve(dataDir, 'sti-cr') : resolve(cwd, dir), publicBaseUrl: publicUrl, cacheMaxAgeSeconds: maxAge };
  }
  if (driver === 'filesystem' || driver === 's3') {
    try {
      parseStiCrStoreConfig(store);
    } catch (error) {
      if (!isStorageError(error)) throw error;
      for (const issue of error.issues) {
        const variable = STI_CR_FIELD_VARIABLES[issue.field];
        // The URL's own problems were reported above; a missing one is reported once.
        if (variable === 'CLM_STI_CR_PUBLIC_URL') continue;
        problems.push(`${variable ?? `CLM_STI_CR (${issue.field})`}: ${issue.problem}`);
      }
    }
  }
  return { store, ...(listener ? { listener } : {}), verifierCacheWindowDays };
}

/**
 * STIR-SHAKEN.md §6 (what ATIS-1000074 verifiers accept from an x5u): https, port 443 or 8443, no
 * userinfo, query or fragment. Also on loopback: an x5u that fails this never passes our own check.
 */
function x5uBaseProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `must be an absolute https URL (got "${raw}")`;
  }
  if (url.protocol !== 'https:') return `must use https: verifiers fetch x5u over TLS only (got "${raw}")`;
  if (url.port !== '' && url.port !== '8443') return `must use port 443 or 8443: verifiers refuse other ports (got "${raw}")`;
  if (url.username !== '' || url.password !== '') return 'must not contain user information (value not shown)';
  if (url.search !== '' || raw.includes('?') || url.hash !== '' || raw.includes('#')) return `must not have a query or fragment (got "${raw}")`;
  return undefined;
}

function pemCertificateFileProblem(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? undefined : 'holds no PEM certificate';
}

/** The keystore's own parser decides, so config and keystore can never disagree on a key. */
function isKekEncoding(raw: string): boolean {
  try {
    Kek.parse(raw, 'key');
    return true;
  } catch {
    return false;
  }
}
