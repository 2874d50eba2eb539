import { describe, expect, it } from 'vitest';
import { renewAt, renewBeforeMs } from './renewal-policy.js';

const DAY = 86_400_000;
const start = new Date('2026-11-01T00:00:00Z');
const days = (n: number) => new Date(start.getTime() + n * DAY);

describe('renewal policy', () => {
  it('renews a 90-day certificate 30 days before notAfter (one third)', () => {
    expect(renewAt({ notBefore: start, notAfter: days(90) })).toEqual(days(60));
  });

  it('renews a 365-day certificate a third of its life ahead', () => {
    expect(renewBeforeMs({ notBefore: start, notAfter: days(365) })).toBe(Math.round((365 * DAY) / 3));
  });

  it('gives a long-but-not-very-long certificate at least 30 days (60 days: 30, not 20)', () => {
    expect(renewBeforeMs({ notBefore: start, notAfter: days(60) })).toBe(30 * DAY);
  });

  it('gives a short certificate one third, without the 30-day floor (30 days: 10)', () => {
    expect(renewBeforeMs({ notBefore: start, notAfter: days(30) })).toBe(10 * DAY);
  });

  it('lets the certificate override the STI-CA, and the STI-CA override the default', () => {
    expect(renewBeforeMs({ notBefore: start, notAfter: days(90), stiCaRenewBeforeDays: 14 })).toBe(14 * DAY);
    expect(renewBeforeMs({ notBefore: start, notAfter: days(90), stiCaRenewBeforeDays: 14, certificateRenewBeforeDays: 7 })).toBe(7 * DAY);
    expect(renewBeforeMs({ notBefore: start, notAfter: days(90), stiCaRenewBeforeDays: 14, certificateRenewBeforeDays: 3 })).toBe(3 * DAY);
  });

  it('never renews before half the lifetime, whatever the override says (no re-issue loop)', () => {
    expect(renewAt({ notBefore: start, notAfter: days(20), certificateRenewBeforeDays: 45 })).toEqual(days(10));
    expect(renewAt({ notBefore: start, notAfter: days(90), stiCaRenewBeforeDays: 90 })).toEqual(days(45));
  });

  it('never renews later than a day before notAfter, or the backoff cap if longer (no lapse)', () => {
    expect(renewAt({ notBefore: start, notAfter: days(90), certificateRenewBeforeDays: 0 })).toEqual(days(89));
    expect(renewAt({ notBefore: start, notAfter: days(90), certificateRenewBeforeDays: 1, minRenewBeforeMs: 3 * DAY })).toEqual(days(87));
  });
});
