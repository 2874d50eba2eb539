import { describe, expect, it } from 'vitest';
import { StiPaError, StiPaErrorCode } from './errors.js';
import { backoffDelayMs, validateRetryPolicy, withRetries } from './retry.js';

const policy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 250 };

describe('withRetries', () => {
  it('retries outages with growing, capped delays and reports the attempts', async () => {
    const waits: number[] = [];
    let calls = 0;
    const error = await withRetries(
      async () => {
        calls++;
        throw new StiPaError(StiPaErrorCode.UNAVAILABLE, 'STI-PA GET /ca-list answered HTTP 503', { status: 503 });
      },
      policy,
      async (ms) => void waits.push(ms),
      () => 1,
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(waits).toEqual([100, 200]);
    expect(error).toMatchObject({ code: StiPaErrorCode.UNAVAILABLE, status: 503, attempts: 3 });
    expect((error as Error).message).toContain('after 3 attempts');
  });

  it('does not retry refusals: 429, 401, 403 and malformed answers go straight back', async () => {
    for (const code of [StiPaErrorCode.RATE_LIMITED, StiPaErrorCode.BAD_CREDENTIALS, StiPaErrorCode.NOT_ALLOW_LISTED, StiPaErrorCode.MALFORMED_RESPONSE]) {
      let calls = 0;
      await expect(
        withRetries(async () => { calls++; throw new StiPaError(code, 'refused'); }, policy, async () => undefined, () => 0),
      ).rejects.toMatchObject({ code });
      expect(calls).toBe(1);
    }
  });

  it('returns the first success', async () => {
    let calls = 0;
    const value = await withRetries(
      async () => {
        if (++calls < 2) throw new StiPaError(StiPaErrorCode.TIMEOUT, 'slow');
        return 'ok';
      },
      policy,
      async () => undefined,
      () => 0,
    );
    expect(value).toBe('ok');
    expect(calls).toBe(2);
  });

  it('jitters within the upper half of the exponential step and refuses unbounded policies', () => {
    expect(backoffDelayMs(policy, 1, () => 0)).toBe(50);
    expect(backoffDelayMs(policy, 3, () => 1)).toBe(250);
    expect(() => validateRetryPolicy({ maxAttempts: 0, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(expect.objectContaining({ code: StiPaErrorCode.INVALID_ARGUMENT }));
    expect(() => validateRetryPolicy({ maxAttempts: 50, baseDelayMs: 1, maxDelayMs: 1 })).toThrow();
  });
});
