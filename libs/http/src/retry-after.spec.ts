import { describe, expect, it } from 'vitest';
import { parseHttpDate, parseRetryAfter } from './retry-after.js';

describe('Retry-After (RFC 9110 §10.2.3)', () => {
  const now = new Date('2026-11-23T10:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('3600', now)).toBe(3_600_000);
  });

  it('reads each HTTP-date form relative to the given clock, never negative', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:59:00 GMT', now)).toBe(0);
    // Obsolete forms (RFC 9110 §5.6.7).
    expect(parseRetryAfter('Monday, 23-Nov-26 10:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Mon Nov 23 10:00:09 2026', now)).toBe(9_000);
    expect(parseRetryAfter('Tue Dec  1 10:00:00 2026', now)).toBe(8 * 86_400_000);
  });

  it('reads asctime as GMT whatever the process time zone (Date.parse reads it as local time)', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(new Date(2026, 0, 1).getTimezoneOffset()).not.toBe(0);
      expect(parseRetryAfter('Mon Nov 23 10:00:09 2026', now)).toBe(9_000);
    } finally {
      process.env.TZ = zone;
    }
  });

  it('refuses what the grammar does not allow, instead of guessing a wait', () => {
    for (const junk of [
      'soon',
      '-5',
      '1.5',
      '2026-11-23T10:00:30Z',
      '2026-11-23',
      'Mon, 23 Nov 2026 10:00:30',
      'Mon, 23 Nov 2026 10:00:30 EST',
      'mon, 23 nov 2026 10:00:30 GMT',
      'Mon, 31 Nov 2026 10:00:30 GMT',
      'Mon, 23 Nov 2026 24:00:00 GMT',
      'Mon Nov 23 10:00:09 2026 GMT',
      'Nov 23 2026',
      '',
    ]) {
      expect(parseRetryAfter(junk, now), junk).toBeUndefined();
    }
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('99999999999999999999', now)).toBeUndefined();
  });

  it('reads a two-digit RFC 850 year as the nearest past match when it would be over 50 years ahead', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Thursday, 06-Nov-75 08:49:37 GMT', now)).toBe(Date.UTC(2075, 10, 6, 8, 49, 37));
  });
});
