import { describe, expect, it } from 'vitest';
import { AcmeErrorCode, AcmeProblemError, AcmeStatusError, AcmeTimeoutError } from '@app/acme';
import { KeystoreError } from '@app/keystore';
import { ShakenError } from '@app/shaken';
import { StiPaError, StiPaErrorCode } from '@app/sti-pa';
import { describeFailure, ProcurementError } from './procurement-errors.js';

const problem = (type: string, status: number, retryAfterMs?: number) =>
  new AcmeProblemError({ method: 'POST', url: 'https://ca.example/acme/new-order', httpStatus: status, problem: { type: `urn:ietf:params:acme:error:${type}` }, ...(retryAfterMs ? { retryAfterMs } : {}) });

describe('describeFailure', () => {
  it('fails the order at once when the CA refuses what we sent or the certificate fails a check', () => {
    expect(describeFailure(problem('badCSR', 400))).toMatchObject({ code: 'ACME.BAD_CSR', permanent: true });
    expect(describeFailure(new AcmeStatusError(AcmeErrorCode.CHALLENGE_INVALID, 'https://ca/chall/1', 'invalid', undefined))).toMatchObject({ permanent: true });
    expect(describeFailure(new ShakenError('CERT.KEY_MISMATCH', 'x'))).toMatchObject({ code: 'CERT.KEY_MISMATCH', permanent: true });
    expect(describeFailure(new ShakenError('CERT.REVOKED', 'x'))).toMatchObject({ permanent: true });
    expect(describeFailure(new KeystoreError('KEYSTORE.OPEN_FAILED', 'x'))).toMatchObject({ permanent: true });
  });

  it('backs off on outages, rate limits and token problems, keeping Retry-After', () => {
    expect(describeFailure(problem('serverInternal', 500))).toMatchObject({ code: 'ACME.SERVER_ERROR', permanent: false });
    expect(describeFailure(problem('rateLimited', 429, 90_000))).toMatchObject({ code: 'ACME.RATE_LIMITED', permanent: false, retryAfterMs: 90_000 });
    expect(describeFailure(new AcmeTimeoutError('POST', 'https://ca/x', 30_000))).toMatchObject({ code: 'ACME.TIMEOUT', permanent: false });
    expect(describeFailure(new StiPaError(StiPaErrorCode.UNAVAILABLE, 'x', { retryAfterMs: 5_000 }))).toMatchObject({ permanent: false, retryAfterMs: 5_000 });
    expect(describeFailure(new StiPaError(StiPaErrorCode.BAD_CREDENTIALS, 'x'))).toMatchObject({ permanent: false });
    expect(describeFailure(new ShakenError('SPC_TOKEN.EXPIRED', 'x'))).toMatchObject({ code: 'SPC_TOKEN.EXPIRED', permanent: false });
  });

  it('treats a check that only failed on time as retryable', () => {
    expect(describeFailure(new ShakenError('CERT.NOT_YET_VALID', 'x'))).toMatchObject({ permanent: false });
    expect(describeFailure(new ShakenError('CRL.EXPIRED', 'x'))).toMatchObject({ permanent: false });
    expect(describeFailure(new ProcurementError('CERT.NOT_YET_VALID', 'x', false, undefined, 4_000))).toMatchObject({ retryInMs: 4_000 });
  });

  it('keeps the stable code of other product errors, and nothing of unknown ones', () => {
    expect(describeFailure(Object.assign(new Error('store down'), { code: 'STORAGE.UNAVAILABLE' }))).toEqual({ code: 'STORAGE.UNAVAILABLE', message: 'store down', permanent: false });
    const prismaLike = Object.assign(new Error('Invalid `prisma.spcToken.create()` invocation: { tokenJws: "eyJ..." }'), { code: 'P2002', name: 'PrismaClientKnownRequestError' });
    const described = describeFailure(prismaLike);
    expect(described.code).toBe('INTERNAL');
    expect(described.message).not.toContain('eyJ');
  });
});
