import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type StiCrResponse, lintStiCrResponse } from './sti-cr-response.js';
import { lintStiCrUrl } from './sti-cr-url.js';

const fixture = (name: string) => readFileSync(new URL(`../lint/fixtures/real-certs/${name}`, import.meta.url), 'utf8');
// A real chain: Metaswitch end-entity (2023-03-26 .. 2026-03-25) and the intermediate that issued it.
const leaf = fixture('a28d2c246508e2e6.pem');
const intermediate = fixture('8a7fb50e95b8c43a.pem');
const unrelatedCa = fixture('46e98b1599688c83.pem');
const chain = `${leaf}${intermediate}`;
const NOW = new Date('2024-06-01T00:00:00Z');
const URL_OK = 'https://cr.example.net/shaken/709J/3f2a.pem';

function response(overrides: Partial<StiCrResponse> = {}): StiCrResponse {
  return {
    url: URL_OK,
    status: 200,
    headers: { 'content-type': 'application/pem-certificate-chain', 'cache-control': 'public, max-age=86400' },
    body: chain,
    ...overrides,
  };
}

function codes(res: StiCrResponse, now = NOW): string[] {
  return lintStiCrResponse(res, { now }).map((f) => f.code);
}

function withHeaders(headers: Record<string, string | string[]>): StiCrResponse {
  return response({ headers: { 'content-type': 'application/pem-certificate-chain', ...headers } });
}

describe('lintStiCrUrl', () => {
  it.each([
    [URL_OK, []],
    ['https://cr.example.net:8443/709J.pem', []],
    ['https://cr.example.net:443/709J.pem', []],
    ['http://cr.example.net/709J.pem', ['e_sticr_url_scheme']],
    ['https://cr.example.net:9443/709J.pem', ['e_sticr_url_port']],
    ['https://cr.example.net/709J.pem?v=2', ['e_sticr_url_query']],
    ['https://cr.example.net/709J.pem#leaf', ['e_sticr_url_fragment']],
    ['cr.example.net/709J.pem', ['e_sticr_url_invalid']],
  ])('%s -> %j', (url, expected) => {
    expect(lintStiCrUrl(url).map((f) => f.code)).toEqual(expected);
  });

  it('flags credentials in the URL without repeating them', () => {
    const [finding] = lintStiCrUrl('https://publisher:s3cret-pass@cr.example.net/709J.pem');
    expect(finding.code).toBe('e_sticr_url_userinfo');
    expect(JSON.stringify(finding)).not.toContain('s3cret-pass');
  });
});

describe('lintStiCrResponse', () => {
  it('finds nothing in a correctly served chain', () => {
    expect(lintStiCrResponse(response(), { now: NOW })).toEqual([]);
  });

  it('accepts a Headers object, parameters on the media type and longer caching', () => {
    const headers = new Headers({ 'Content-Type': 'application/pem-certificate-chain; charset=us-ascii', 'Cache-Control': 'max-age=2592000, public' });
    expect(codes(response({ headers }))).toEqual([]);
  });

  it('includes the URL findings', () => {
    expect(codes(response({ url: 'http://cr.example.net:8080/a.pem' }))).toEqual(['e_sticr_url_scheme']);
  });

  it('reports a redirect and checks nothing else about it', () => {
    const res = response({ status: 302, headers: { location: 'https://other.example/709J.pem' }, body: '' });
    const findings = lintStiCrResponse(res, { now: NOW });
    expect(findings.map((f) => f.code)).toEqual(['e_sticr_redirect']);
    expect(findings[0].message).toContain('https://other.example/709J.pem');
  });

  it('reports a status other than 200', () => {
    expect(codes(response({ status: 404, headers: {}, body: 'not found' }))).toEqual(['e_sticr_status']);
  });

  it.each([
    [{ 'content-type': 'text/plain' }, ['e_sticr_content_type']],
    [{ 'content-type': 'application/x-pem-file' }, ['e_sticr_content_type']],
  ])('checks Content-Type %j', (headers, expected) => {
    expect(codes(response({ headers: { ...headers, 'cache-control': 'public, max-age=86400' } }))).toEqual(expected);
    expect(codes(response({ headers: { 'cache-control': 'public, max-age=86400' } }))).toEqual(['e_sticr_content_type']);
  });

  it.each([
    [{}, ['e_sticr_cache_control_missing']],
    [{ 'cache-control': 'private, max-age=86400' }, ['e_sticr_cache_control_private', 'w_sticr_cache_control_public']],
    [{ 'cache-control': 'public, max-age=3600' }, ['e_sticr_cache_control_max_age']],
    [{ 'cache-control': 'public' }, ['e_sticr_cache_control_max_age']],
    [{ 'cache-control': 'no-store' }, ['e_sticr_cache_control_max_age', 'e_sticr_cache_control_no_store', 'w_sticr_cache_control_public']],
    [{ 'cache-control': 'public, no-cache, max-age=86400' }, ['e_sticr_cache_control_no_cache']],
    [{ 'cache-control': 'max-age=86400' }, ['w_sticr_cache_control_public']],
    [{ 'cache-control': ['public', 'max-age=86400'] }, []],
    [{ 'cache-control': 'public, max-age=86400', pragma: 'no-cache' }, ['e_sticr_pragma_no_cache']],
  ])('checks caching headers %j', (headers, expected) => {
    expect(codes(withHeaders(headers))).toEqual(expected);
  });

  it('reports a private key in the body without echoing it', () => {
    const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oqsm6yXtSbVFoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n';
    const findings = lintStiCrResponse(response({ body: chain + key }), { now: NOW });
    expect(findings.map((f) => f.code)).toEqual(['e_sticr_private_key_exposed']);
    expect(findings[0].severity).toBe('error');
    expect(JSON.stringify(findings)).not.toContain('MHcCAQEEIBkg4LVWM9nu');
  });

  it('reports a private key even on an error page', () => {
    expect(codes(response({ status: 500, body: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }))).toEqual([
      'e_sticr_private_key_exposed',
      'e_sticr_status',
    ]);
  });

  it('requires the body to start with the certificate boundary', () => {
    expect(codes(response({ body: `\n${chain}` }))).toEqual(['e_sticr_body_not_pem']);
    expect(codes(response({ body: 'hello' }))).toEqual(['e_sticr_body_not_pem', 'e_sticr_body_unparseable']);
  });

  it('requires the leaf first and each certificate issued by the next', () => {
    expect(codes(response({ body: `${intermediate}${leaf}` }))).toEqual(['e_sticr_chain_order', 'e_sticr_leaf_not_first']);
    expect(codes(response({ body: `${leaf}${unrelatedCa}` }))).toEqual(['e_sticr_chain_order']);
  });

  it('warns when only the end-entity certificate is served', () => {
    expect(codes(response({ body: leaf }))).toEqual(['w_sticr_chain_incomplete']);
  });

  it('limits the body to 8 KB', () => {
    expect(codes(response({ body: chain + '\n'.repeat(8192 - chain.length) }))).toEqual(['e_sticr_body_too_large']);
    expect(codes(response({ body: chain + '\n'.repeat(8191 - chain.length) }))).toEqual([]);
    expect(codes(response({ body: chain.slice(0, 1000), truncated: true }))).toEqual(['e_sticr_body_too_large']);
  });

  it('judges the end-entity validity at `now`', () => {
    expect(codes(response(), new Date('2026-04-01T00:00:00Z'))).toEqual(['e_sticr_leaf_expired']);
    expect(codes(response(), new Date('2026-03-01T00:00:00Z'))).toEqual(['w_sticr_leaf_expiring']);
    expect(codes(response(), new Date('2023-01-01T00:00:00Z'))).toEqual(['e_sticr_leaf_not_yet_valid']);
  });

  it('gives every finding a citation', () => {
    const findings = lintStiCrResponse(response({ url: 'http://x.example/a?b', headers: {}, body: `${intermediate}` }), { now: NOW });
    expect(findings.length).toBeGreaterThan(3);
    for (const f of findings) expect(f.citation.length).toBeGreaterThan(0);
  });
});
