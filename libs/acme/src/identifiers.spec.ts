import { encodeAcmeIdentifierValue } from '@app/shaken';
import { describe, expect, it } from 'vitest';
import { isAcmeError } from './errors.js';
import { encodeTnAuthListValue, toWireIdentifier } from './identifiers.js';

// RFC 8226 TNAuthList with the single SPC "818H": 30 08 A0 06 16 04 38 31 38 48.
const SPC_818H = Uint8Array.from([0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, 0x38, 0x31, 0x38, 0x48]);

describe('TNAuthList identifier value encoding (RFC 9448 §3, per-CA variants)', () => {
  it('defaults to base64url without padding', () => {
    expect(encodeTnAuthListValue(SPC_818H, 'base64url')).toBe('MAigBhYEODE4SA');
    expect(toWireIdentifier({ type: 'TNAuthList', der: SPC_818H }, 'base64url')).toEqual({ type: 'TNAuthList', value: 'MAigBhYEODE4SA' });
  });

  it('writes padded standard base64 for CAs that document it', () => {
    expect(encodeTnAuthListValue(SPC_818H, 'base64')).toBe('MAigBhYEODE4SA==');
  });

  it('differs between the alphabets where base64 uses + and /', () => {
    // TNAuthList with the single number 12025550100 (a delegate certificate's shape): its length
    // octet 0x0f starts the base64 text with "MA+", base64url with "MA-".
    const der = Uint8Array.from(Buffer.from('300fa20d160b3132303235353530313030', 'hex'));
    expect(encodeTnAuthListValue(der, 'base64')).toBe('MA+iDRYLMTIwMjU1NTAxMDA=');
    expect(encodeTnAuthListValue(der, 'base64url')).toBe('MA-iDRYLMTIwMjU1NTAxMDA');
  });

  it('refuses bytes that are not a TNAuthorizationList, also when they are some other DER SEQUENCE', () => {
    for (const der of [
      Uint8Array.from([0x16, 0x04, 0x38, 0x31, 0x38, 0x48]),
      // A SEQUENCE whose content is not DER at all.
      Uint8Array.from([0x30, 0x02, 0xfb, 0xff]),
      // A well-formed SEQUENCE holding an INTEGER instead of a TNEntry.
      Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x05]),
    ]) {
      expect(() => encodeTnAuthListValue(der, 'base64url')).toThrow(expect.objectContaining({ code: 'ACME.INVALID_ARGUMENT' }));
    }
  });

  it('writes the same value as @app/shaken, which also writes atc.tkvalue', () => {
    for (const encoding of ['base64url', 'base64'] as const) {
      expect(encodeTnAuthListValue(SPC_818H, encoding)).toBe(encodeAcmeIdentifierValue(SPC_818H, encoding));
    }
  });

  it('passes other identifiers through and rejects empty ones', () => {
    expect(toWireIdentifier({ type: 'dns', value: 'example.com' }, 'base64')).toEqual({ type: 'dns', value: 'example.com' });
    let caught: unknown;
    try {
      toWireIdentifier({ type: 'dns', value: '' }, 'base64url');
    } catch (error) {
      caught = error;
    }
    expect(isAcmeError(caught, 'ACME.INVALID_ARGUMENT')).toBe(true);
  });
});
