const DAY_MS = 86_400_000;

/** Certificates at least this long get at least 30 days to renew: half their life or less. */
const LONG_CERTIFICATE_MS = 60 * DAY_MS;
const LONG_CERTIFICATE_MIN_RENEW_BEFORE_MS = 30 * DAY_MS;

export interface RenewalPolicyInput {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Per-certificate override, in days (null: inherit). */
  readonly certificateRenewBeforeDays?: number | null;
  /** The STI-CA's policy, in days (null: the service default). */
  readonly stiCaRenewBeforeDays?: number | null;
}

/**
 * How long before notAfter a certificate is renewed (issue 5): the certificate's own setting,
 * else its STI-CA's, else one third of its lifetime, and at least 30 days for long certificates
 * (a 90-day certificate renews 30 days ahead, a 365-day one 122 days ahead, a 30-day one 10 days
 * ahead). Never more than the lifetime, so renewAt is never before notBefore.
 */
export function renewBeforeMs(input: RenewalPolicyInput): number {
  const lifetime = Math.max(0, input.notAfter.getTime() - input.notBefore.getTime());
  const overrideDays = input.certificateRenewBeforeDays ?? input.stiCaRenewBeforeDays;
  let before: number;
  if (overrideDays !== null && overrideDays !== undefined) {
    before = overrideDays * DAY_MS;
  } else {
    before = lifetime / 3;
    if (lifetime >= LONG_CERTIFICATE_MS) before = Math.max(before, LONG_CERTIFICATE_MIN_RENEW_BEFORE_MS);
  }
  return Math.min(Math.round(before), lifetime);
}

/** The moment the renewal job should start a new order for this certificate. */
export function renewAt(input: RenewalPolicyInput): Date {
  return new Date(input.notAfter.getTime() - renewBeforeMs(input));
}
