import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { X509Certificate } from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { parseCertificates, readPemBlocks } from './parse-certificates.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/real-certs/${name}`, import.meta.url), 'utf8');
const leafPem = fixture('golden-martini-709J.pem');
const caPem = fixture('46e98b1599688c83.pem');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('parseCertificates', () => {
  it('reads every certificate of a PEM chain, in order', () => {
    const certs = parseCertificates(`${leafPem}\n${caPem}`);
    expect(certs.map((c) => c.subject)).toEqual([new X509Certificate(leafPem).subject, new X509Certificate(caPem).subject]);
  });

  it('reads a DER certificate and PEM given as bytes', () => {
    const der = new Uint8Array(new X509Certificate(leafPem).rawData);
    expect(parseCertificates(der)[0].serialNumber).toBe(new X509Certificate(leafPem).serialNumber);
    expect(parseCertificates(new TextEncoder().encode(leafPem))).toHaveLength(1);
  });

  it('ignores text around blocks and blocks that are not certificates', () => {
    const mixed = `issued by Example\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n${leafPem}`;
    expect(parseCertificates(mixed)).toHaveLength(1);
    expect(readPemBlocks(mixed).map((b) => b.label)).toEqual(['EC PRIVATE KEY', 'CERTIFICATE']);
  });

  it('throws CERT.UNPARSEABLE for garbage, truncated DER and bad base64', () => {
    expect(codeOf(() => parseCertificates('hello world'))).toBe('CERT.UNPARSEABLE');
    expect(codeOf(() => parseCertificates(new Uint8Array([1, 2, 3])))).toBe('CERT.UNPARSEABLE');
    expect(codeOf(() => parseCertificates(new Uint8Array()))).toBe('CERT.UNPARSEABLE');
    const der = new Uint8Array(new X509Certificate(leafPem).rawData);
    expect(codeOf(() => parseCertificates(der.subarray(0, der.length - 10)))).toBe('CERT.UNPARSEABLE');
    expect(codeOf(() => parseCertificates('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----'))).toBe('CERT.UNPARSEABLE');
    expect(codeOf(() => parseCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'))).toBe('CERT.UNPARSEABLE');
  });

  it('throws CERT.NONE_FOUND for PEM without a certificate', () => {
    expect(codeOf(() => parseCertificates('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'))).toBe('CERT.NONE_FOUND');
  });
});
