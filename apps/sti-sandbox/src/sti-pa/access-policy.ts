import { RateLimiter } from './rate-limiter.js';

/**
 * Who may call the STI-PA API and how often: the per-API-user source-IP allow-list the real
 * STI-PA enforces (403 "IP not allow-listed") and a request rate per source (429). The refusal's
 * wording can be changed so that tests show clients do not depend on it (the live STI-PA's text
 * is not specified anywhere).
 */
export const DEFAULT_ALLOW_LIST_MESSAGE = 'IP not allow-listed';

export class StiPaAccessPolicy {
  private allowList: Set<string>;
  private limiter: RateLimiter;
  private perMinute: number;
  private allowListMessage = DEFAULT_ALLOW_LIST_MESSAGE;

  constructor(
    allowList: readonly string[],
    perMinute: number,
    private readonly clock: () => Date,
  ) {
    this.allowList = new Set(allowList.map(normalizeAddress));
    this.perMinute = perMinute;
    this.limiter = new RateLimiter(perMinute, 60_000, clock);
  }

  /** undefined when the request may proceed, otherwise the refusal. */
  check(sourceAddress: string): { status: 403 | 429; message: string; retryAfterSeconds?: number } | undefined {
    if (this.allowList.size > 0 && !this.allowList.has(normalizeAddress(sourceAddress))) {
      return { status: 403, message: this.allowListMessage };
    }
    const wait = this.limiter.take(normalizeAddress(sourceAddress));
    if (wait !== undefined) return { status: 429, message: 'too many requests; slow down', retryAfterSeconds: wait };
    return undefined;
  }

  update(change: { allowList?: string[]; rateLimitPerMinute?: number; resetCounters?: boolean; allowListMessage?: string }): AccessPolicyView {
    if (change.allowList) this.allowList = new Set(change.allowList.map(normalizeAddress));
    if (change.allowListMessage !== undefined) this.allowListMessage = change.allowListMessage;
    if (change.rateLimitPerMinute !== undefined) {
      this.perMinute = change.rateLimitPerMinute;
      this.limiter = new RateLimiter(this.perMinute, 60_000, this.clock);
    }
    if (change.resetCounters) this.limiter.reset();
    return this.current();
  }

  current(): AccessPolicyView {
    return { allowList: [...this.allowList], rateLimitPerMinute: this.perMinute, allowListMessage: this.allowListMessage };
  }
}

export interface AccessPolicyView {
  allowList: string[];
  rateLimitPerMinute: number;
  allowListMessage: string;
}

/** IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d. */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
