const DAY_MS = 86_400_000;

/** Certificates at least this long get at least 30 days to renew: half their life or less. */
const LONG_CERTIFICATE_MS = 60 * DAY_MS;
const LONG_CERTIFICATE_MIN_RENEW_BEFORE_MS = 30 * DAY_MS;

/**
 * Never renew closer to notAfter than this. renewAt = notAfter would let the expiry job expire the
 * certificate before the scan (which looks only at active ones) renews it: a lapse. One day also
 * leaves room for the retry after a failed renewal (RENEWAL_RETRY_AFTER_FAILURE_MS).
 */
export const MIN_RENEW_BEFORE_MS = DAY_MS;

export interface RenewalPolicyInput {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Per-certificate override, in days (null: inherit). */
  readonly certificateRenewBeforeDays?: number | null;
  /** The STI-CA's policy, in days (null: the service default). */
  readonly stiCaRenewBeforeDays?: number | null;
  /** A larger floor than MIN_RENEW_BEFORE_MS, e.g. procurement's longest retry delay (backoff cap). */
  readonly minRenewBeforeMs?: number;
}

/**
 * The renew-before values that work for a certificate of `lifetimeMs`, in ms: at least the floor
 * (see MIN_RENEW_BEFORE_MS), at most half the lifetime. More than half would make every new
 * certificate due soon after activation — at or before notBefore when renew-before reaches the
 * lifetime — so each renewal starts the next one: an endless re-issue loop. When the lifetime is
 * too short for both, half the lifetime wins (renewing in time matters more than the floor).
 */
export function renewBeforeBand(lifetimeMs: number, minRenewBeforeMs = 0): { min: number; max: number } {
  const max = Math.max(0, lifetimeMs) / 2;
  return { min: Math.min(Math.max(MIN_RENEW_BEFORE_MS, minRenewBeforeMs), max), max };
}

/**
 * How long before notAfter a certificate is renewed (issue 5): the certificate's own setting,
 * else its STI-CA's, else one third of its lifetime, and at least 30 days for long certificates
 * (a 90-day certificate renews 30 days ahead, a 365-day one 122 days ahead, a 30-day one 10 days
 * ahead), then held inside renewBeforeBand whatever the overrides say.
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
  const band = renewBeforeBand(lifetime, input.minRenewBeforeMs);
  return Math.round(Math.min(Math.max(before, band.min), band.max));
}

/** The moment the renewal job should start a new order for this certificate. */
export function renewAt(input: RenewalPolicyInput): Date {
  return new Date(input.notAfter.getTime() - renewBeforeMs(input));
}
