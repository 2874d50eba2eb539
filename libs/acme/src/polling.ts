import { AcmePollTimeoutError } from './errors.js';

/**
 * Bounded polling of pending ACME resources (RFC 8555 §7.5.1, §7.4): wait as long as the server's
 * Retry-After asks, but never longer than `maxIntervalMs` per step, `maxTotalWaitMs` in total, or
 * `maxAttempts` fetches, so a stuck CA surfaces as an error instead of a hung procurement job.
 */
export interface PollingOptions {
  /** Wait between polls when the server sends no Retry-After. Default 1 000 ms. */
  defaultIntervalMs: number;
  /** Cap on one wait, whatever Retry-After says. Default 10 000 ms. */
  maxIntervalMs: number;
  /** Cap on the summed waits of one poll loop. Default 120 000 ms. */
  maxTotalWaitMs: number;
  /** Cap on fetches of one poll loop. Default 60. */
  maxAttempts: number;
}

export const DEFAULT_POLLING: PollingOptions = {
  defaultIntervalMs: 1_000,
  maxIntervalMs: 10_000,
  maxTotalWaitMs: 120_000,
  maxAttempts: 60,
};

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PollSnapshot<T> {
  value: T;
  status: string;
  retryAfterMs: number | undefined;
}

/**
 * Calls `fetchOnce` until `isSettled(status)`; the first snapshot may come from an earlier response
 * (so its Retry-After is honoured before the first fetch).
 */
export async function pollUntilSettled<T>(args: {
  url: string;
  first: PollSnapshot<T>;
  fetchOnce: () => Promise<PollSnapshot<T>>;
  isSettled: (status: string) => boolean;
  options: PollingOptions;
  sleep: Sleep;
}): Promise<T> {
  const { options } = args;
  let snapshot = args.first;
  let attempts = 0;
  let waited = 0;
  while (!args.isSettled(snapshot.status)) {
    if (attempts >= options.maxAttempts) throw new AcmePollTimeoutError(args.url, snapshot.status, attempts);
    const wait = Math.min(snapshot.retryAfterMs ?? options.defaultIntervalMs, options.maxIntervalMs);
    if (waited + wait > options.maxTotalWaitMs) throw new AcmePollTimeoutError(args.url, snapshot.status, attempts);
    await args.sleep(wait);
    waited += wait;
    attempts += 1;
    snapshot = await args.fetchOnce();
  }
  return snapshot.value;
}
