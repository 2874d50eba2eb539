/**
 * How webhook deliveries are attempted. Fixed rather than configured: receivers are the
 * operator's own systems and these values suit any of them; the backoff reaches its cap after
 * about 5 hours and the attempts are spread over about 2.5 days before a delivery is `failed`.
 */
export const WEBHOOK_DELIVERY = {
  /** Time between scans for due deliveries on each replica. */
  pollIntervalMs: 2_000,
  /** Deliveries one replica sends at the same time. */
  concurrency: 8,
  /** A receiver that has not answered by then has failed this attempt. */
  timeoutMs: 10_000,
  /** A claimed delivery is ours this long; longer than timeoutMs, so it is never sent twice at once. */
  leaseMs: 60_000,
  /** First retry after 30 s, doubling: 30 s × 2^(n−1), at most 6 h apart. */
  backoffBaseMs: 30_000,
  backoffCapMs: 6 * 3_600_000,
  maxAttempts: 15,
} as const;

export type WebhookDeliverySettings = { -readonly [K in keyof typeof WEBHOOK_DELIVERY]: number };
