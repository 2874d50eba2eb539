import { isAbsolute, resolve } from 'node:path';
import { envReader } from '@app/local-infra';
import { FAULT_ENV, parseFaultEnv, type FaultSettings } from './faults/fault-settings.js';

/**
 * The sandbox's configuration, read from the environment once at boot (ARCHITECTURE.md habit 3).
 * Bad values fail fast naming the variable; nothing else reads process.env.
 */
export interface SandboxConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Keys, certificates, users, accounts and issued certificates live here across restarts. */
  readonly dataDir: string;
  /** Secret for `/admin/*`; unset means the one generated into `<dataDir>/admin-secret`. */
  readonly adminSecret?: string;
  /** Validity of issued end-entity certificates (ATIS-1000080 leaves seen live: 30–365 days). */
  readonly certValidityDays: number;
  /** Lifetime of SPC tokens the STI-PA issues. */
  readonly spcTokenValidityMinutes: number;
  /** newAccount requires External Account Binding (RFC 8555 §7.3.4) when true. */
  readonly requireEab: boolean;
  /**
   * Also accept padded standard base64 in TNAuthList identifier values (several STI-CAs document
   * it); RFC 9448 §3 says base64url without padding, which is always accepted. Default false.
   */
  readonly acceptPaddedIdentifiers: boolean;
  /** Form of `atc.fingerprint` the STI-CA expects: SPKI `SHA256 AA:..` (default) or RFC 7638 thumbprint. */
  readonly fingerprintForm: 'spki' | 'jwk_thumbprint';
  /** Source addresses allowed to call the STI-PA API; empty means no allow-list. */
  readonly stiPaAllowList: readonly string[];
  /** STI-PA requests per minute per source address before 429. */
  readonly stiPaRateLimitPerMinute: number;
  /** Faults active from boot (also settable at runtime through `POST /admin/faults`). */
  readonly faults: FaultSettings;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export const CONFIG_VARIABLES = [
  'SANDBOX_HOST',
  'SANDBOX_PORT',
  'SANDBOX_DATA_DIR',
  'SANDBOX_ADMIN_SECRET',
  'SANDBOX_CERT_VALIDITY_DAYS',
  'SANDBOX_SPC_TOKEN_VALIDITY_MINUTES',
  'SANDBOX_REQUIRE_EAB',
  'SANDBOX_ACCEPT_PADDED_IDENTIFIERS',
  'SANDBOX_FINGERPRINT_FORM',
  'SANDBOX_STI_PA_ALLOW_LIST',
  'SANDBOX_STI_PA_RATE_LIMIT',
  'SANDBOX_LOG_LEVEL',
  ...FAULT_ENV,
] as const;

export class SandboxConfigError extends Error {
  override readonly name = 'SandboxConfigError';
  readonly code = 'SANDBOX.CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid sandbox configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadSandboxConfig(env: Env = process.env, cwd: string = process.cwd()): SandboxConfig {
  const problems: string[] = [];
  const { str, int, bool } = envReader(env, problems);

  const dataDirRaw = str('SANDBOX_DATA_DIR') ?? '.sti-sandbox-data';
  const adminSecret = str('SANDBOX_ADMIN_SECRET');
  if (adminSecret !== undefined && adminSecret.length < 16) {
    problems.push('SANDBOX_ADMIN_SECRET: must be at least 16 characters (value not shown)');
  }
  const logLevel = (str('SANDBOX_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`SANDBOX_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }
  const allowList = (str('SANDBOX_STI_PA_ALLOW_LIST') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const faults = parseFaultEnv(env, problems);
  const fingerprintForm = str('SANDBOX_FINGERPRINT_FORM') ?? 'spki';
  if (fingerprintForm !== 'spki' && fingerprintForm !== 'jwk_thumbprint') {
    problems.push(`SANDBOX_FINGERPRINT_FORM: must be spki or jwk_thumbprint (got "${fingerprintForm}")`);
  }

  const config: SandboxConfig = {
    host: str('SANDBOX_HOST') ?? '127.0.0.1',
    port: int('SANDBOX_PORT', 8445, 0, 65535),
    dataDir: isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw),
    adminSecret,
    certValidityDays: int('SANDBOX_CERT_VALIDITY_DAYS', 90, 1, 825),
    spcTokenValidityMinutes: int('SANDBOX_SPC_TOKEN_VALIDITY_MINUTES', 60 * 24 * 3, 1, 60 * 24 * 365),
    requireEab: bool('SANDBOX_REQUIRE_EAB', false),
    acceptPaddedIdentifiers: bool('SANDBOX_ACCEPT_PADDED_IDENTIFIERS', false),
    fingerprintForm: fingerprintForm === 'jwk_thumbprint' ? 'jwk_thumbprint' : 'spki',
    stiPaAllowList: allowList,
    stiPaRateLimitPerMinute: int('SANDBOX_STI_PA_RATE_LIMIT', 120, 1, 100_000),
    faults,
    logLevel: logLevel as SandboxConfig['logLevel'],
  };
  if (problems.length > 0) throw new SandboxConfigError(problems);
  return config;
}
