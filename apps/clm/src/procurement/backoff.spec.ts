import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff.js';

const HOUR = 3_600_000;
const policy = { backoffBaseMs: HOUR, backoffCapMs: 24 * HOUR };

describe('retryDelayMs', () => {
  it('doubles from one hour: 1 h, 2 h, 4 h, 8 h, 16 h', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy) / HOUR)).toEqual([1, 2, 4, 8, 16]);
  });

  it('stops at the cap, also for absurd failure counts', () => {
    expect(retryDelayMs(6, policy)).toBe(24 * HOUR);
    expect(retryDelayMs(5_000, policy)).toBe(24 * HOUR);
  });

  it('waits at least as long as the far side asked (Retry-After), even beyond the cap', () => {
    expect(retryDelayMs(1, policy, 3 * HOUR)).toBe(3 * HOUR);
    expect(retryDelayMs(1, policy, 60_000)).toBe(HOUR);
    expect(retryDelayMs(9, policy, 48 * HOUR)).toBe(48 * HOUR);
  });

  it('treats a count below one as the first failure', () => {
    expect(retryDelayMs(0, policy)).toBe(HOUR);
  });
});
