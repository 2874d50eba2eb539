/**
 * When a failed step is tried again: base × 2^(n−1) after the n-th consecutive failure (1 h, 2 h,
 * 4 h… by default), never more than `capMs`, and never sooner than the far side asked for
 * (Retry-After). Deterministic on purpose: the lease already spreads work across replicas.
 */
export function retryDelayMs(failures: number, policy: { backoffBaseMs: number; backoffCapMs: number }, retryAfterMs?: number): number {
  const n = Math.max(1, Math.floor(failures));
  // 2^(n−1) overflows to Infinity long before n reaches a useful bound; min() handles that.
  const exponential = policy.backoffBaseMs * 2 ** (n - 1);
  const delay = Math.min(policy.backoffCapMs, exponential);
  return Math.max(delay, retryAfterMs ?? 0);
}
