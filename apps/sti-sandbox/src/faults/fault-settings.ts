/**
 * The fault switches of the sandbox: each one makes the STI-PA or the STI-CA misbehave in a way
 * the real services do (or could), so that the clients' handling of it can be tested end to end.
 * Settable at boot through `SANDBOX_FAULT_*` variables and at runtime through `POST /admin/faults`.
 */

export type FaultScope = 'all' | 'sti-pa' | 'acme';
const SCOPES: readonly FaultScope[] = ['all', 'sti-pa', 'acme'];

export interface FaultSettings {
  /** Share (0..1) of ACME POSTs with a good nonce refused with `badNonce` (Pebble does 5 %). */
  badNonceRate: number;
  /** Share (0..1) of requests answered with a 5xx. */
  serverErrorRate: number;
  serverErrorScope: FaultScope;
  /** Added before every answer, in milliseconds. */
  delayMs: number;
  delayScope: FaultScope;
  /** The STI-CA issues the certificate for a key other than the CSR's. */
  wrongKeyCertificate: boolean;
  /** The STI-CA issues the certificate for this SPC instead of the ordered one (null: off). */
  otherSpcCertificate: string | null;
  /** The STI-PA issues SPC tokens that have already expired. */
  expiredSpcToken: boolean;
  /** The issuing intermediate is on the STI-PA CRL and the STI-CA root is dropped from the CA list. */
  revokedCa: boolean;
  /** The STI-PA refuses every login with 401, even with the right password. */
  refuseStiPaLogin: boolean;
  /**
   * The STI-CA turns this many of the next tkauth-01 validations `invalid`, however good the token
   * (as for a token the STI-PA revoked after issuing it); each refusal uses one up. 0: off.
   */
  refuseChallenges: number;
}

export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({
  badNonceRate: 0,
  serverErrorRate: 0,
  serverErrorScope: 'all',
  delayMs: 0,
  delayScope: 'all',
  wrongKeyCertificate: false,
  otherSpcCertificate: null,
  expiredSpcToken: false,
  revokedCa: false,
  refuseStiPaLogin: false,
  refuseChallenges: 0,
});

const MAX_DELAY_MS = 600_000;

/** Environment variable of each switch. */
const ENV_OF: Record<keyof FaultSettings, string> = {
  badNonceRate: 'SANDBOX_FAULT_BAD_NONCE_RATE',
  serverErrorRate: 'SANDBOX_FAULT_SERVER_ERROR_RATE',
  serverErrorScope: 'SANDBOX_FAULT_SERVER_ERROR_SCOPE',
  delayMs: 'SANDBOX_FAULT_DELAY_MS',
  delayScope: 'SANDBOX_FAULT_DELAY_SCOPE',
  wrongKeyCertificate: 'SANDBOX_FAULT_WRONG_KEY_CERT',
  otherSpcCertificate: 'SANDBOX_FAULT_OTHER_SPC_CERT',
  expiredSpcToken: 'SANDBOX_FAULT_EXPIRED_SPC_TOKEN',
  revokedCa: 'SANDBOX_FAULT_REVOKED_CA',
  refuseStiPaLogin: 'SANDBOX_FAULT_REFUSE_STI_PA_LOGIN',
  refuseChallenges: 'SANDBOX_FAULT_REFUSE_CHALLENGES',
};

export const FAULT_ENV: readonly string[] = Object.values(ENV_OF);

/**
 * Checks one switch's value; returns a problem text or undefined. Shared by the environment
 * parser and the admin endpoint so that both accept exactly the same values.
 */
function checkValue(key: keyof FaultSettings, value: unknown): string | undefined {
  switch (key) {
    case 'badNonceRate':
    case 'serverErrorRate':
      return typeof value === 'number' && value >= 0 && value <= 1 ? undefined : 'must be a number from 0 to 1';
    case 'delayMs':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_DELAY_MS
        ? undefined
        : `must be a whole number of milliseconds from 0 to ${MAX_DELAY_MS}`;
    case 'refuseChallenges':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 1_000 ? undefined : 'must be a whole number from 0 to 1000';
    case 'serverErrorScope':
    case 'delayScope':
      return SCOPES.includes(value as FaultScope) ? undefined : `must be one of ${SCOPES.join(', ')}`;
    case 'otherSpcCertificate':
      // ATIS-1000080 v005 §6.4.1: an SPC is digits and uppercase letters.
      return value === null || (typeof value === 'string' && /^[0-9A-Z]{1,32}$/.test(value))
        ? undefined
        : 'must be an SPC (digits and uppercase letters) or null';
    case 'wrongKeyCertificate':
    case 'expiredSpcToken':
    case 'revokedCa':
    case 'refuseStiPaLogin':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
  }
}

function isFaultKey(key: string): key is keyof FaultSettings {
  return Object.hasOwn(NO_FAULTS, key);
}

/**
 * Validates a partial update (the admin endpoint's body). Unknown switches are an error, not
 * ignored: a typo must not leave a test running without the fault it asked for.
 */
export function parseFaultUpdate(body: unknown): { update: Partial<FaultSettings>; problems: string[] } {
  const problems: string[] = [];
  const update: Partial<FaultSettings> = {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { update, problems: ['body must be a JSON object of fault switches'] };
  }
  for (const [key, value] of Object.entries(body)) {
    if (!isFaultKey(key)) {
      problems.push(`${key}: unknown fault switch (known: ${Object.keys(NO_FAULTS).join(', ')})`);
      continue;
    }
    const problem = checkValue(key, value);
    if (problem) problems.push(`${key}: ${problem}`);
    else (update as Record<string, unknown>)[key] = value;
  }
  return { update, problems };
}

export function parseFaultEnv(env: Readonly<Record<string, string | undefined>>, problems: string[]): FaultSettings {
  const settings: FaultSettings = { ...NO_FAULTS };
  for (const key of Object.keys(NO_FAULTS) as (keyof FaultSettings)[]) {
    const name = ENV_OF[key];
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (typeof NO_FAULTS[key] === 'number') value = Number(raw);
    else if (typeof NO_FAULTS[key] === 'boolean') value = ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase()) ? true : ['0', 'false', 'no', 'off'].includes(raw.toLowerCase()) ? false : raw;
    const problem = checkValue(key, value);
    if (problem) problems.push(`${name}: ${problem} (got "${raw}")`);
    else (settings as unknown as Record<string, unknown>)[key] = value;
  }
  return settings;
}

export function scopeMatches(scope: FaultScope, area: 'sti-pa' | 'acme'): boolean {
  return scope === 'all' || scope === area;
}
