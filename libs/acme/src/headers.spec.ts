import { describe, expect, it } from 'vitest';
import { linkTargets } from './headers.js';

describe('Link header (RFC 8288)', () => {
  const base = 'https://ca.example/acme/cert/1';

  it('returns every rel="alternate" target, resolved against the request URL', () => {
    const header = '<https://ca.example/acme/cert/1/1>;rel="alternate", <https://ca.example/dir>;rel="index", </acme/cert/1/2>; rel=alternate';
    expect(linkTargets(header, 'alternate', base)).toEqual(['https://ca.example/acme/cert/1/1', 'https://ca.example/acme/cert/1/2']);
    expect(linkTargets(header, 'index', base)).toEqual(['https://ca.example/dir']);
  });

  it('matches one relation among several and ignores other parameters', () => {
    expect(linkTargets('<https://x.example/a>; title="a, b"; rel="up alternate"', 'alternate', base)).toEqual(['https://x.example/a']);
  });

  it('returns nothing when absent or without the relation', () => {
    expect(linkTargets(null, 'alternate', base)).toEqual([]);
    expect(linkTargets('<https://ca.example/i>;rel="up"', 'alternate', base)).toEqual([]);
  });
});
