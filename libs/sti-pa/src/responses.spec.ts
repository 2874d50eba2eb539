import { describe, expect, it } from 'vitest';
import { StiPaErrorCode } from './errors.js';
import type { HttpResult } from './http.js';
import { errorForStatus, successJson } from './responses.js';

function result(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { status, headers: { get: (name) => map.get(name.toLowerCase()) ?? null }, body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)) };
}

const now = new Date('2026-11-23T10:00:00Z');

describe('STI-PA answers to typed errors', () => {
  it('maps each refusal to its own stable code', () => {
    expect(errorForStatus(result(401, { status: 'failed', message: 'invalid userId or password' }), 'POST /auth/login', 'login', now)).toMatchObject({
      code: StiPaErrorCode.BAD_CREDENTIALS,
      message: 'STI-PA POST /auth/login answered HTTP 401: invalid userId or password',
    });
    expect(errorForStatus(result(403, { message: 'IP not allow-listed' }), 'POST /auth/login', 'login', now).code).toBe(StiPaErrorCode.NOT_ALLOW_LISTED);
    expect(errorForStatus(result(403, { message: 'IP not allow-listed' }), 'POST /account/818H/token', 'token', now).code).toBe(StiPaErrorCode.NOT_ALLOW_LISTED);
    expect(errorForStatus(result(403, { message: 'OCN 818H is not assigned to this account' }), 'POST /account/818H/token', 'token', now).code).toBe(
      StiPaErrorCode.FORBIDDEN_OCN,
    );
    expect(errorForStatus(result(400, { message: 'bad tkvalue' }), 'x', 'token', now).code).toBe(StiPaErrorCode.REQUEST_REJECTED);
    // Public downloads have no account: a bare 403 there is a refusal, not the allow-list.
    expect(errorForStatus(result(403, 'Forbidden'), 'GET /download/v1/crl', 'crl', now).code).toBe(StiPaErrorCode.REQUEST_REJECTED);
    expect(errorForStatus(result(403, { message: 'IP not allow-listed' }), 'GET /download/v1/crl', 'crl', now).code).toBe(StiPaErrorCode.NOT_ALLOW_LISTED);
    expect(errorForStatus(result(502, '<html>bad gateway</html>'), 'x', 'ca-list', now)).toMatchObject({ code: StiPaErrorCode.UNAVAILABLE, status: 502 });
  });

  it('keeps Retry-After of a 429 in seconds or as an HTTP date', () => {
    expect(errorForStatus(result(429, {}, { 'Retry-After': '7' }), 'x', 'token', now)).toMatchObject({ code: StiPaErrorCode.RATE_LIMITED, retryAfterMs: 7000 });
    expect(errorForStatus(result(503, {}, { 'Retry-After': 'Mon, 23 Nov 2026 10:00:30 GMT' }), 'x', 'ca-list', now).retryAfterMs).toBe(30_000);
    // asctime is GMT by definition; Date.parse would read it in the local zone.
    expect(errorForStatus(result(429, {}, { 'Retry-After': 'Mon Nov 23 10:00:09 2026' }), 'x', 'token', now).retryAfterMs).toBe(9_000);
    // Junk is no wait at all rather than whatever Date.parse makes of it.
    for (const junk of ['soon', '2026-11-23T10:00:30Z', 'Nov 23 2026 10:00:30']) {
      expect(errorForStatus(result(429, {}, { 'Retry-After': junk }), 'x', 'token', now).retryAfterMs).toBeUndefined();
    }
  });

  it('decides a 403 by the request, whatever the wording', () => {
    for (const body of [{ message: 'Forbidden' }, { error: 'access denied' }, {}, '<html>403</html>']) {
      for (const kind of ['login', 'refresh', 'ca-list'] as const) {
        expect(errorForStatus(result(403, body), 'x', kind, now).code).toBe(StiPaErrorCode.NOT_ALLOW_LISTED);
      }
      expect(errorForStatus(result(403, body), 'x', 'token', now).code).toBe(StiPaErrorCode.FORBIDDEN_OCN);
    }
  });

  it('shortens long server messages to one line', () => {
    const error = errorForStatus(result(400, { message: `line one\n${'x'.repeat(500)}` }), 'x', 'token', now);
    expect(error.message).not.toContain('\n');
    expect(error.message.length).toBeLessThan(300);
  });

  it('refuses a 2xx body that is not a success JSON object', () => {
    expect(() => successJson(result(200, 'not json'), 'GET /ca-list')).toThrow(expect.objectContaining({ code: StiPaErrorCode.MALFORMED_RESPONSE }));
    expect(() => successJson(result(200, { status: 'failed', message: 'nope' }), 'GET /ca-list')).toThrow(/status "failed" \(nope\)/);
    expect(successJson(result(200, { status: 'success', caList: 'x' }), 'GET /ca-list')).toEqual({ status: 'success', caList: 'x' });
  });
});
