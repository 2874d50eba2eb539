import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { X509Certificate } from '@peculiar/x509';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShakenError } from './errors.js';
import {
  TN_AUTH_LIST_OID,
  TnAuthListExtension,
  type TnAuthEntry,
  decodeAcmeIdentifierValue,
  decodeTnAuthList,
  encodeAcmeIdentifierValue,
  encodeTnAuthList,
  readTnAuthList,
  singleSpc,
  tnAuthListForSpc,
  tnAuthListsEqual,
} from './tn-auth-list.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ShakenError);
    return (error as ShakenError).code;
  }
  throw new Error('expected a ShakenError, nothing was thrown');
}

describe('TNAuthList known vectors', () => {
  it('encodes SPC 818H as 30 08 A0 06 16 04 38 31 38 48 (EXPLICIT [0] IA5String)', () => {
    expect(hex(tnAuthListForSpc('818H'))).toBe('3008a006160438313848');
    expect(Buffer.from(tnAuthListForSpc('818H')).toString('base64')).toBe('MAigBhYEODE4SA==');
  });

  it('decodes the TNAuthList of the golden Martini certificate (SPC 709J)', () => {
    const pem = readFileSync('/work/shared/fixtures/real-certs/golden-martini-709J.pem', 'utf8');
    const cert = new X509Certificate(pem);
    expect(readTnAuthList(cert)).toEqual([{ kind: 'spc', spc: '709J' }]);
    expect(decodeTnAuthList(fromHex('3008A00616043730394A'))).toEqual([{ kind: 'spc', spc: '709J' }]);
  });

  it('encodes a range and a single number with EXPLICIT [1] and [2] tags', () => {
    const entries: TnAuthEntry[] = [
      { kind: 'range', start: '12025550100', count: 100 },
      { kind: 'one', tn: '12025550199' },
    ];
    const tn1 = Buffer.from('12025550100').toString('hex');
    const tn2 = Buffer.from('12025550199').toString('hex');
    // [1] { SEQUENCE { IA5String start, INTEGER 100 } }, [2] { IA5String tn }
    expect(hex(encodeTnAuthList(entries))).toBe(`3023a1123010160b${tn1}020164a20d160b${tn2}`);
    expect(decodeTnAuthList(encodeTnAuthList(entries))).toEqual(entries);
  });

  it('encodes ACME identifier values in RFC 9448 base64url and padded base64, and reads both back', () => {
    const der = tnAuthListForSpc('818H');
    expect(encodeAcmeIdentifierValue(der)).toBe('MAigBhYEODE4SA');
    expect(encodeAcmeIdentifierValue(der, 'base64url')).toBe('MAigBhYEODE4SA');
    expect(encodeAcmeIdentifierValue(der, 'base64')).toBe('MAigBhYEODE4SA==');
    expect(hex(decodeAcmeIdentifierValue('MAigBhYEODE4SA'))).toBe(hex(der));
    expect(hex(decodeAcmeIdentifierValue('MAigBhYEODE4SA=='))).toBe(hex(der));
  });

  it('builds and reads the X.509 extension, non-critical by default', () => {
    const extension = new TnAuthListExtension([{ kind: 'spc', spc: '818H' }]);
    expect(extension.type).toBe(TN_AUTH_LIST_OID);
    expect(TN_AUTH_LIST_OID).toBe('1.3.6.1.5.5.7.1.26');
    expect(extension.critical).toBe(false);
    expect(hex(new Uint8Array(extension.value))).toBe('3008a006160438313848');
    const reread = TnAuthListExtension.fromExtension(extension);
    expect(reread.entries).toEqual([{ kind: 'spc', spc: '818H' }]);
  });

  it('singleSpc finds the end-entity shape only', () => {
    expect(singleSpc([{ kind: 'spc', spc: '818H' }])).toBe('818H');
    expect(singleSpc([{ kind: 'one', tn: '12025550100' }])).toBeUndefined();
    expect(singleSpc([{ kind: 'spc', spc: '818H' }, { kind: 'spc', spc: '709J' }])).toBeUndefined();
  });

  it('compares lists by value and order', () => {
    const a: TnAuthEntry[] = [{ kind: 'spc', spc: '818H' }, { kind: 'one', tn: '15551234567' }];
    expect(tnAuthListsEqual(a, [...a])).toBe(true);
    expect(tnAuthListsEqual(a, [...a].reverse())).toBe(false);
    expect(tnAuthListsEqual(a, [{ kind: 'spc', spc: '818H' }])).toBe(false);
  });
});

describe('TNAuthList errors', () => {
  it('rejects an empty list (RFC 8226: SIZE (1..MAX))', () => {
    expect(codeOf(() => encodeTnAuthList([]))).toBe('TN_AUTH_LIST.EMPTY');
    expect(codeOf(() => decodeTnAuthList(fromHex('3000')))).toBe('TN_AUTH_LIST.EMPTY');
  });

  it.each([
    ['', /empty/],
    ['818h', /lowercase/],
    ['81-H', /other than digits and uppercase/],
    ['818 H', /other than digits and uppercase/],
    ['Ä18H', /other than digits and uppercase/],
    ['A'.repeat(33), /33 characters/],
  ])('rejects SPC %j with a specific message', (spc, message) => {
    expect(() => tnAuthListForSpc(spc)).toThrow(message);
    expect(codeOf(() => tnAuthListForSpc(spc))).toBe('TN_AUTH_LIST.INVALID_SPC');
  });

  it('rejects a lowercase SPC inside DER', () => {
    // "818h" as IA5String
    expect(codeOf(() => decodeTnAuthList(fromHex('3008a006160438313868')))).toBe('TN_AUTH_LIST.INVALID_SPC');
  });

  it.each([
    ['', /empty/],
    ['1202555010a', /other than digits/],
    ['+12025550100', /other than digits/],
    ['1202555*100', /other than digits/],
    ['1234567890123456', /16 digits/],
  ])('rejects telephone number %j', (tn, message) => {
    expect(() => encodeTnAuthList([{ kind: 'one', tn }])).toThrow(message);
    expect(codeOf(() => encodeTnAuthList([{ kind: 'one', tn }]))).toBe('TN_AUTH_LIST.INVALID_TN');
    expect(codeOf(() => encodeTnAuthList([{ kind: 'range', start: tn, count: 10 }]))).toBe('TN_AUTH_LIST.INVALID_TN');
  });

  it.each([1, 0, -5, 2.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])('rejects range count %s (RFC 8226: 2..MAX)', (count) => {
    expect(codeOf(() => encodeTnAuthList([{ kind: 'range', start: '12025550100', count }]))).toBe(
      'TN_AUTH_LIST.INVALID_RANGE',
    );
  });

  it('rejects a range count of 1 inside DER', () => {
    const start = Buffer.from('12025550100').toString('hex');
    expect(codeOf(() => decodeTnAuthList(fromHex(`3014a1123010160b${start}020101`)))).toBe('TN_AUTH_LIST.INVALID_RANGE');
  });

  it('rejects a range count beyond 2^53 inside DER', () => {
    // [1] { SEQUENCE { IA5String "0", INTEGER 2^64 } }
    expect(codeOf(() => decodeTnAuthList(fromHex('3012a110300e160130020901' + '00'.repeat(8))))).toBe(
      'TN_AUTH_LIST.INVALID_RANGE',
    );
  });

  it('rejects an entry of unknown kind', () => {
    const bogus = [{ kind: 'spc-list', spc: '818H' }] as unknown as TnAuthEntry[];
    expect(codeOf(() => encodeTnAuthList(bogus))).toBe('TN_AUTH_LIST.INVALID_ENTRY');
  });

  it.each([
    ['no bytes', ''],
    ['a bare SEQUENCE header', '30'],
    ['an OCTET STRING', '0404deadbeef'],
    ['SPC as PrintableString instead of IA5String', '3008a006130438313848'],
    ['IMPLICIT instead of EXPLICIT tag', '3006800438313848'],
    ['unknown choice tag [3]', '3008a306160438313848'],
  ])('rejects %s as MALFORMED', (_what, bytes) => {
    expect(codeOf(() => decodeTnAuthList(fromHex(bytes)))).toBe('TN_AUTH_LIST.MALFORMED');
  });

  it('rejects trailing bytes and BER long-form lengths as NOT_DER', () => {
    expect(codeOf(() => decodeTnAuthList(fromHex('3008a00616043831384800')))).toBe('TN_AUTH_LIST.NOT_DER');
    expect(codeOf(() => decodeTnAuthList(fromHex('308108a006160438313848')))).toBe('TN_AUTH_LIST.NOT_DER');
  });

  it.each(['MAigBhYEODE4SA=', 'MAig BhYEODE4SA', 'MAigBhYEODE4SA==\n', 'MAig-hYEODE4SA==', 'MAigBhYEODE4SB', ''])(
    'rejects identifier value %j as INVALID_ENCODING',
    (value) => {
      expect(codeOf(() => decodeAcmeIdentifierValue(value))).toBe('TN_AUTH_LIST.INVALID_ENCODING');
    },
  );

  it('rejects an identifier value that decodes to something other than a TNAuthList', () => {
    expect(codeOf(() => decodeAcmeIdentifierValue(Buffer.from('hello').toString('base64url')))).toBe(
      'TN_AUTH_LIST.MALFORMED',
    );
  });

  it('refuses to encode a non-TNAuthList as an identifier value', () => {
    expect(codeOf(() => encodeAcmeIdentifierValue(fromHex('0500')))).toBe('TN_AUTH_LIST.MALFORMED');
  });

  it('reports two TNAuthList extensions on one object as DUPLICATE_EXTENSION (RFC 5280 §4.2)', () => {
    const extension = new TnAuthListExtension([{ kind: 'spc', spc: '818H' }]);
    const container = { getExtensions: (type: string) => (type === TN_AUTH_LIST_OID ? [extension, extension] : []) };
    expect(codeOf(() => readTnAuthList(container))).toBe('TN_AUTH_LIST.DUPLICATE_EXTENSION');
    expect(readTnAuthList({ getExtensions: () => [] })).toBeUndefined();
  });
});

describe('TNAuthList properties', () => {
  const spc = fc.stringMatching(/^[0-9A-Z]{1,8}$/);
  const tn = fc.stringMatching(/^[0-9]{1,15}$/);
  const entry: fc.Arbitrary<TnAuthEntry> = fc.oneof(
    spc.map((value) => ({ kind: 'spc' as const, spc: value })),
    tn.map((value) => ({ kind: 'one' as const, tn: value })),
    fc.record({ kind: fc.constant('range' as const), start: tn, count: fc.integer({ min: 2, max: 2 ** 40 }) }),
  );

  it('round-trips every valid list through DER and both identifier encodings', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), fc.constantFrom('base64' as const, 'base64url' as const), (entries, encoding) => {
        const der = encodeTnAuthList(entries);
        expect(decodeTnAuthList(der)).toEqual(entries);
        expect(decodeAcmeIdentifierValue(encodeAcmeIdentifierValue(der, encoding))).toEqual(der);
      }),
      { numRuns: 300 },
    );
  });
});
