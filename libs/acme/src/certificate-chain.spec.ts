import { describe, expect, it } from 'vitest';
import { isAcmeError } from './errors.js';
import { splitPemChain } from './certificate-chain.js';

const block = (body: string): string => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
const LEAF = 'MIIBbzCCARWgAwIBAgIBATAKBggqhkjOPQQDAjAAMB4XDTI2MTEyMzAwMDAwMFoX';
const ISSUER = 'MIIBdTCCARugAwIBAgIBAjAKBggqhkjOPQQDAjAAMB4XDTI2MTEyMzAwMDAwMFoX';

describe('application/pem-certificate-chain (RFC 8555 §9.1)', () => {
  it('splits the chain leaf first and normalizes line endings', () => {
    const body = block(LEAF).replace(/\n/g, '\r\n') + '\n' + block(ISSUER);
    expect(splitPemChain(body, 'https://ca.example/cert/1')).toEqual([block(LEAF), block(ISSUER)]);
  });

  it('rejects a body with anything but certificates', () => {
    const withKey = block(LEAF) + '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
    for (const body of [withKey, '<html>502 Bad Gateway</html>', '']) {
      let caught: unknown;
      try {
        splitPemChain(body, 'https://ca.example/cert/1');
      } catch (error) {
        caught = error;
      }
      expect(isAcmeError(caught, 'ACME.PROTOCOL')).toBe(true);
    }
  });
});
