/**
 * Fixed-window request counting per source address: the STI-PA answers 429 with Retry-After when
 * a client hammers it, and clients must back off instead of retrying blindly.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => Date,
  ) {}

  /** Counts one request; returns the seconds to wait when over the limit, else undefined. */
  take(key: string): number | undefined {
    const now = this.clock().getTime();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      if (this.windows.size > 10_000) this.windows.clear();
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    if (window.count <= this.limit) return undefined;
    return Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
  }

  reset(): void {
    this.windows.clear();
  }
}
