import { describe, expect, it } from 'vitest';
import { allOk, failing, missing, ok, withinDeadline } from './readiness-item.js';

describe('readiness items', () => {
  it('withinDeadline answers with the late item when the work takes longer, and with the work otherwise', async () => {
    const slow = new Promise<string>((resolve) => setTimeout(() => resolve('done'), 500));
    const started = performance.now();
    expect(await withinDeadline(slow, 50, () => 'late')).toBe('late');
    expect(performance.now() - started).toBeLessThan(400);
    expect(await withinDeadline(Promise.resolve('done'), 50, () => 'late')).toBe('done');
  });

  it('is ready only when every item is ok; ok items carry no next step', () => {
    expect(ok('fine').nextStep).toBeNull();
    expect(allOk({ a: ok('x'), b: ok('y') })).toBe(true);
    expect(allOk({ a: ok('x'), b: missing('no', 'do it') })).toBe(false);
    expect(allOk({ a: failing('broken', 'fix it') })).toBe(false);
  });
});
