import 'reflect-metadata';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintCertificate } from './lint-certificate.js';

const dir = new URL('./fixtures/real-certs/', import.meta.url);

interface Expectation {
  file: string;
  ca: string;
  expected: string[];
}

const expectations: Expectation[] = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));

describe('lintCertificate on real STI certificates (reference linter findings, 2025-08-18)', () => {
  it('has an expectation for every fixture file and a file for every expectation', () => {
    const pems = readdirSync(dir).filter((f) => f.endsWith('.pem')).sort();
    expect(expectations.map((e) => e.file).sort()).toEqual(pems);
    expect(pems.length).toBe(50);
  });

  it.each(expectations)('$file ($ca) yields exactly $expected', ({ file, expected }) => {
    const pem = readFileSync(new URL(file, dir), 'utf8');
    const codes = lintCertificate(pem).map((f) => f.code);
    expect(codes).toEqual([...expected].sort());
  });
});
