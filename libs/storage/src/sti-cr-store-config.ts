import { isAbsolute } from 'node:path';
import { normalizePublicBaseUrl, publicBaseUrlProblem } from './public-base-url.js';
import { MIN_STI_CR_MAX_AGE_SECONDS } from './sti-cr-store.js';
import { type ConfigIssue, StorageError, StorageErrorCode } from './storage-error.js';

/** Filesystem driver, the embedded default: files under `rootDir`, served by the service. */
export interface FilesystemStiCrStoreConfig {
  readonly driver: 'filesystem';
  /** Absolute directory, e.g. `<dataDir>/sti-cr`; created on first write. */
  readonly rootDir: string;
  /** Where the service serves `rootDir`, e.g. `https://clm.example.net/sti-cr`. */
  readonly publicBaseUrl: string;
  /** At least 86400; default 86400. */
  readonly cacheMaxAgeSeconds?: number;
}

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** S3 (or S3-compatible) driver; objects are served by the bucket website or a CDN. */
export interface S3StiCrStoreConfig {
  readonly driver: 's3';
  readonly bucket: string;
  /** Object key prefix inside the bucket, e.g. `sti-cr/`; a trailing `/` is added when missing. */
  readonly prefix?: string;
  readonly region: string;
  /** Custom endpoint for S3-compatible stores, e.g. `http://127.0.0.1:4568`. */
  readonly endpoint?: string;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`); needed by most S3-compatible stores. */
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; unset means the standard AWS chain (env, profile, web identity, IMDS). */
  readonly credentials?: S3Credentials;
  /** The URL at which `<prefix>` is publicly served (CDN or bucket website); x5u = base + `/` + key. */
  readonly publicBaseUrl: string;
  /** At least 86400; default 86400. Uploaded as the object's Cache-Control. */
  readonly cacheMaxAgeSeconds?: number;
  /** Deadline for each store call, retries included (ms). Default 5000. */
  readonly timeoutMs?: number;
  /** SDK attempts per call (1 = no retry). Default 3. */
  readonly maxAttempts?: number;
  /**
   * Send `If-None-Match: *` on uploads so the store itself refuses to overwrite (AWS S3 since
   * 2024-08). Default true. Stores that answer 501 to it are detected and the header is dropped.
   */
  readonly conditionalWrites?: boolean;
}

export type StiCrStoreConfig = FilesystemStiCrStoreConfig | S3StiCrStoreConfig;

export interface ResolvedFilesystemConfig {
  readonly driver: 'filesystem';
  readonly rootDir: string;
  readonly publicBaseUrl: string;
  readonly cacheMaxAgeSeconds: number;
}

export interface ResolvedS3Config {
  readonly driver: 's3';
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly forcePathStyle: boolean;
  readonly credentials: S3Credentials | undefined;
  readonly publicBaseUrl: string;
  readonly cacheMaxAgeSeconds: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly conditionalWrites: boolean;
}

export type ResolvedStiCrStoreConfig = ResolvedFilesystemConfig | ResolvedS3Config;

const FILESYSTEM_FIELDS = new Set(['driver', 'rootDir', 'publicBaseUrl', 'cacheMaxAgeSeconds']);
const S3_FIELDS = new Set([
  'driver', 'bucket', 'prefix', 'region', 'endpoint', 'forcePathStyle', 'credentials', 'publicBaseUrl',
  'cacheMaxAgeSeconds', 'timeoutMs', 'maxAttempts', 'conditionalWrites',
]);
// About a year: longer caching only delays a verifier noticing a removed URL, never helps.
const MAX_MAX_AGE_SECONDS = 31_536_000;
// AWS bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// Prefix segments use the same safe charset as keys, so a prefix cannot escape the bucket layout.
const PREFIX = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*$/;

/**
 * Validates a store configuration once (at boot) and fills in defaults. Every bad field is named
 * (`s3.bucket`, `filesystem.rootDir`, ...) in one `STORAGE.CONFIG_INVALID` error; credential values
 * never appear in it.
 */
export function parseStiCrStoreConfig(input: unknown): ResolvedStiCrStoreConfig {
  if (typeof input !== 'object' || input === null) {
    throw invalid([{ field: 'driver', problem: 'configuration must be an object' }]);
  }
  const raw = input as Record<string, unknown>;
  if (raw.driver === 'filesystem') return parseFilesystem(raw);
  if (raw.driver === 's3') return parseS3(raw);
  throw invalid([{ field: 'driver', problem: `must be "filesystem" or "s3", got ${JSON.stringify(raw.driver) ?? 'undefined'}` }]);
}

function parseFilesystem(raw: Record<string, unknown>): ResolvedFilesystemConfig {
  const issues = unknownFields(raw, FILESYSTEM_FIELDS, 'filesystem');
  const field = (name: string, problem: string) => issues.push({ field: `filesystem.${name}`, problem });

  if (typeof raw.rootDir !== 'string' || raw.rootDir.length === 0) field('rootDir', 'is required');
  else if (!isAbsolute(raw.rootDir)) field('rootDir', 'must be an absolute path');
  else if (raw.rootDir.includes('\0')) field('rootDir', 'must not contain NUL');
  const baseProblem = publicBaseUrlProblem(raw.publicBaseUrl);
  if (baseProblem) field('publicBaseUrl', baseProblem);
  const maxAge = maxAgeOf(raw.cacheMaxAgeSeconds, (problem) => field('cacheMaxAgeSeconds', problem));

  if (issues.length > 0) throw invalid(issues);
  return {
    driver: 'filesystem',
    rootDir: raw.rootDir as string,
    publicBaseUrl: normalizePublicBaseUrl(raw.publicBaseUrl as string),
    cacheMaxAgeSeconds: maxAge,
  };
}

function parseS3(raw: Record<string, unknown>): ResolvedS3Config {
  const issues = unknownFields(raw, S3_FIELDS, 's3');
  const field = (name: string, problem: string) => issues.push({ field: `s3.${name}`, problem });

  if (typeof raw.bucket !== 'string' || !BUCKET.test(raw.bucket) || raw.bucket.includes('..')) {
    field('bucket', 'must be a bucket name: 3-63 lowercase letters, digits, dots and hyphens');
  }
  let prefix = '';
  if (raw.prefix !== undefined) {
    if (typeof raw.prefix !== 'string') field('prefix', 'must be a string');
    else {
      prefix = raw.prefix === '' || raw.prefix.endsWith('/') ? raw.prefix : `${raw.prefix}/`;
      if (!PREFIX.test(prefix) || prefix.length > 256) {
        field('prefix', 'must be /-separated segments of letters, digits, ".", "_" and "-" (no leading "/", no "." segments)');
      }
    }
  }
  if (typeof raw.region !== 'string' || !/^[a-z0-9-]{1,64}$/.test(raw.region)) {
    field('region', 'is required, e.g. "us-east-1"');
  }
  if (raw.endpoint !== undefined) {
    let ok = false;
    if (typeof raw.endpoint === 'string') {
      try {
        const url = new URL(raw.endpoint);
        ok = (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
      } catch {
        ok = false;
      }
    }
    if (!ok) field('endpoint', 'must be an http(s) URL without userinfo');
  }
  if (raw.forcePathStyle !== undefined && typeof raw.forcePathStyle !== 'boolean') field('forcePathStyle', 'must be a boolean');
  if (raw.conditionalWrites !== undefined && typeof raw.conditionalWrites !== 'boolean') {
    field('conditionalWrites', 'must be a boolean');
  }
  const credentials = credentialsOf(raw.credentials, field);
  const baseProblem = publicBaseUrlProblem(raw.publicBaseUrl);
  if (baseProblem) field('publicBaseUrl', baseProblem);
  const maxAge = maxAgeOf(raw.cacheMaxAgeSeconds, (problem) => field('cacheMaxAgeSeconds', problem));
  const timeoutMs = integerOf(raw.timeoutMs, 5_000, 100, 120_000, (problem) => field('timeoutMs', problem));
  const maxAttempts = integerOf(raw.maxAttempts, 3, 1, 10, (problem) => field('maxAttempts', problem));

  if (issues.length > 0) throw invalid(issues);
  return {
    driver: 's3',
    bucket: raw.bucket as string,
    prefix,
    region: raw.region as string,
    endpoint: raw.endpoint as string | undefined,
    forcePathStyle: (raw.forcePathStyle as boolean | undefined) ?? false,
    credentials,
    publicBaseUrl: normalizePublicBaseUrl(raw.publicBaseUrl as string),
    cacheMaxAgeSeconds: maxAge,
    timeoutMs,
    maxAttempts,
    conditionalWrites: (raw.conditionalWrites as boolean | undefined) ?? true,
  };
}

function credentialsOf(value: unknown, field: (name: string, problem: string) => void): S3Credentials | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    field('credentials', 'must be an object with accessKeyId and secretAccessKey');
    return undefined;
  }
  const c = value as Record<string, unknown>;
  // Only presence is reported: credential values never go into messages.
  const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (!nonEmpty(c.accessKeyId)) field('credentials.accessKeyId', 'is required when credentials are given');
  if (!nonEmpty(c.secretAccessKey)) field('credentials.secretAccessKey', 'is required when credentials are given');
  if (c.sessionToken !== undefined && !nonEmpty(c.sessionToken)) field('credentials.sessionToken', 'must be a non-empty string');
  for (const name of Object.keys(c)) {
    if (!['accessKeyId', 'secretAccessKey', 'sessionToken'].includes(name)) field(`credentials.${name}`, 'is not a known field');
  }
  return {
    accessKeyId: c.accessKeyId as string,
    secretAccessKey: c.secretAccessKey as string,
    ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken as string }),
  };
}

function maxAgeOf(value: unknown, report: (problem: string) => void): number {
  return integerOf(
    value,
    MIN_STI_CR_MAX_AGE_SECONDS,
    MIN_STI_CR_MAX_AGE_SECONDS,
    MAX_MAX_AGE_SECONDS,
    (problem) => report(`${problem} (verifiers cache an x5u for at least 24 h)`),
  );
}

function integerOf(value: unknown, fallback: number, min: number, max: number, report: (problem: string) => void): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    report(`must be an integer from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

function unknownFields(raw: Record<string, unknown>, known: ReadonlySet<string>, driver: string): ConfigIssue[] {
  return Object.keys(raw)
    .filter((name) => !known.has(name) && raw[name] !== undefined)
    .map((name) => ({ field: `${driver}.${name}`, problem: `is not a ${driver} driver field` }));
}

function invalid(issues: readonly ConfigIssue[]): StorageError {
  return new StorageError(
    StorageErrorCode.CONFIG_INVALID,
    `invalid STI-CR store configuration: ${issues.map((i) => `${i.field} ${i.problem}`).join('; ')}`,
    issues,
  );
}
