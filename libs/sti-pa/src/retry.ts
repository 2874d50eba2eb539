import { StiPaError, StiPaErrorCode } from './errors.js';

/**
 * Bounded retries with exponential backoff for the requests where repeating is safe: GETs (CA
 * list, CRL, the signing certificate) and login. Only outages are retried (5xx, connection
 * failures, timeouts); 4xx answers, including 429, go straight back to the caller, who decides
 * whether waiting for `retryAfterMs` is worth it. Token requests never come through here: each
 * one may be counted against the provider by the STI-PA.
 */
export interface RetryPolicy {
  /** Attempts in total, including the first. Default 3. */
  maxAttempts: number;
  /** Wait before the second attempt; doubles each time. Default 300 ms. */
  baseDelayMs: number;
  /** Cap on one wait. Default 3 000 ms. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 3_000 };

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function isRetryableOutage(error: unknown): boolean {
  return error instanceof StiPaError && (error.code === StiPaErrorCode.UNAVAILABLE || error.code === StiPaErrorCode.TIMEOUT);
}

export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const ok =
    Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1 && policy.maxAttempts <= 10 &&
    policy.baseDelayMs >= 0 && policy.maxDelayMs >= policy.baseDelayMs;
  if (!ok) {
    throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, 'retry policy needs 1..10 attempts and 0 <= baseDelayMs <= maxDelayMs');
  }
  return policy;
}

/** Delay before attempt `attempt + 1` (attempt counts from 1): exponential, half of it jittered. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Jitter keeps many clients that failed together from retrying together.
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

export async function withRetries<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy,
  sleep: Sleep,
  random: () => number,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetryableOutage(error) || attempt >= policy.maxAttempts) {
        if (error instanceof StiPaError && attempt > 1) {
          throw new StiPaError(error.code, `${error.message} (after ${attempt} attempts)`, {
            status: error.status,
            retryAfterMs: error.retryAfterMs,
            attempts: attempt,
            cause: error.cause,
          });
        }
        throw error;
      }
      await sleep(backoffDelayMs(policy, attempt, random));
    }
  }
}
