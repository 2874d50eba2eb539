import { describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error.js';
import { entityTag, noneMatchHits, parsePullTarget } from './pull-request.js';

function refusal(rawUrl: string): string {
  try {
    parsePullTarget(rawUrl);
  } catch (error) {
    if (error instanceof DomainError) return `${error.status} ${error.code}`;
    throw error;
  }
  return 'accepted';
}

describe('pull request target', () => {
  it('reads the OCN, key format and wait exactly as written', () => {
    expect(parsePullTarget('/signer/v1/credentials/818H')).toEqual({ ocn: '818H', keyFormat: 'sec1', waitSeconds: 0 });
    expect(parsePullTarget('/signer/v1/credentials/709J?keyFormat=pkcs8&wait=60')).toEqual({ ocn: '709J', keyFormat: 'pkcs8', waitSeconds: 60 });
    expect(parsePullTarget('/signer/v1/credentials/0000?wait=0&keyFormat=jwk')).toEqual({ ocn: '0000', keyFormat: 'jwk', waitSeconds: 0 });
    expect(parsePullTarget('/signer/v1/credentials/818H?')).toEqual({ ocn: '818H', keyFormat: 'sec1', waitSeconds: 0 });
  });

  it.each([
    '/signer/v1/credentials/818h',
    '/signer/v1/credentials/%38%31%38%48',
    '/signer/v1/credentials/818%48',
    '/signer/v1/credentials/818H/',
    '/signer/v1/credentials/818H%2F',
    '/signer/v1/credentials/818',
    '/signer/v1/credentials/818HH',
    '/signer/v1/credentials/818H%00',
    '/signer/v1/credentials/818H;x',
    '/signer/v1/credentials/%EF%BC%98%EF%BC%91%EF%BC%98%EF%BC%A8',
    '/signer/v1/credentials/818\u0412',
    '/signer/v1/credentials/./818H',
    '/signer/v1/credentials/709J/../818H',
    '/signer/v1/credentials/3f2c1e9a-0d7b-4c55-9a51-2b8e7c1d0f00',
    '/signer/v1/credentials/',
  ])('refuses %s as a malformed OCN', (rawUrl) => {
    expect(refusal(rawUrl)).toBe('400 SIGNER.OCN_MALFORMED');
  });

  it.each([
    '/signer/v1/credentials/818H?ocn=709J',
    '/signer/v1/credentials/818H?keyFormat=sec1&keyFormat=jwk',
    '/signer/v1/credentials/818H?keyFormat=PKCS8',
    '/signer/v1/credentials/818H?keyFormat=%70kcs8',
    '/signer/v1/credentials/818H?keyFormat',
    '/signer/v1/credentials/818H?wait=61',
    '/signer/v1/credentials/818H?wait=-1',
    '/signer/v1/credentials/818H?wait=05',
    '/signer/v1/credentials/818H?wait=1.5',
    '/signer/v1/credentials/818H?wait=',
    '/signer/v1/credentials/818H?wait=1&wait=2',
    '/signer/v1/credentials/818H?&wait=1',
    '/signer/v1/credentials/818H?wait=1#x',
  ])('refuses the query of %s', (rawUrl) => {
    expect(refusal(rawUrl)).toBe('400 SIGNER.QUERY_INVALID');
  });
});

describe('If-None-Match (RFC 9110 §13.1.2)', () => {
  const etag = entityTag('abcDEF_-123', 'sec1');

  it('is a strong tag naming the pair and the key format', () => {
    expect(etag).toBe('"abcDEF_-123.sec1"');
    expect(entityTag('abcDEF_-123', 'pkcs8')).not.toBe(etag);
  });

  it('matches the tag, weakly, in a list, or *', () => {
    expect(noneMatchHits(etag, etag)).toBe(true);
    expect(noneMatchHits(`W/${etag}`, etag)).toBe(true);
    expect(noneMatchHits(`"other", ${etag}`, etag)).toBe(true);
    expect(noneMatchHits('*', etag)).toBe(true);
    expect(noneMatchHits(['"other"', etag], etag)).toBe(true);
  });

  it('does not match another tag, another format, a bare value or nothing', () => {
    expect(noneMatchHits(undefined, etag)).toBe(false);
    expect(noneMatchHits('"other"', etag)).toBe(false);
    expect(noneMatchHits(entityTag('abcDEF_-123', 'jwk'), etag)).toBe(false);
    expect(noneMatchHits('abcDEF_-123.sec1', etag)).toBe(false);
    expect(noneMatchHits('', etag)).toBe(false);
  });
});
