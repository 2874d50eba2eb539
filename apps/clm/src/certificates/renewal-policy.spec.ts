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
    expect(renewBeforeMs({ notBefore: start, notAfter: days(90), stiCaRenewBeforeDays: 14, certificateRenewBeforeDays: 0 })).toBe(0);
  });

  it('never renews before notBefore, whatever the override says', () => {
    expect(renewAt({ notBefore: start, notAfter: days(20), certificateRenewBeforeDays: 45 })).toEqual(start);
  });
});
