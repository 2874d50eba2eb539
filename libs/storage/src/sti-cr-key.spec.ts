import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertSafeStiCrKey, isSafeStiCrKey, MAX_STI_CR_KEY_LENGTH, stiCrKeyFor } from './sti-cr-key.js';
import { StorageError } from './storage-error.js';

const leaf = new X509Certificate(readFileSync(new URL('../fixtures/leaf.pem', import.meta.url)));
const leafSha256 = createHash('sha256').update(leaf.raw).digest();

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return (error as StorageError).code;
  }
  throw new Error('expected a StorageError, nothing was thrown');
}

describe('stiCrKeyFor: one key per certificate', () => {
  it('is <SPC>/<first 16 lowercase hex of the SHA-256 over the DER>.pem', () => {
    const key = stiCrKeyFor({ spc: '818H', fingerprintSha256: new Uint8Array(leafSha256) });
    expect(key).toBe(`818H/${leafSha256.toString('hex').slice(0, 16)}.pem`);
  });

  it('gives the same key for the colon-separated uppercase form OpenSSL and Node print', () => {
    // Node's fingerprint256 is "AB:CD:..." like `openssl x509 -fingerprint -sha256`.
    const fromBytes = stiCrKeyFor({ spc: '818H', fingerprintSha256: new Uint8Array(leafSha256) });
    expect(stiCrKeyFor({ spc: '818H', fingerprintSha256: leaf.fingerprint256 })).toBe(fromBytes);
    expect(stiCrKeyFor({ spc: '818H', fingerprintSha256: leafSha256.toString('hex').toUpperCase() })).toBe(fromBytes);
  });

  it('gives different keys to different certificates and to different SPCs', () => {
    const other = createHash('sha256').update('another certificate').digest();
    const a = stiCrKeyFor({ spc: '818H', fingerprintSha256: new Uint8Array(leafSha256) });
    expect(stiCrKeyFor({ spc: '818H', fingerprintSha256: new Uint8Array(other) })).not.toBe(a);
    expect(stiCrKeyFor({ spc: '709J', fingerprintSha256: new Uint8Array(leafSha256) })).not.toBe(a);
  });

  it.each([
    ['lowercase (a real-world error)', '818h'],
    ['empty', ''],
    ['a path', '../818H'],
    ['a slash', '81/8H'],
    ['33 characters', 'A'.repeat(33)],
    ['a Cyrillic lookalike', '818Н'],
  ])('refuses an SPC that is %s', (_label, spc) => {
    expect(codeOf(() => stiCrKeyFor({ spc, fingerprintSha256: new Uint8Array(leafSha256) }))).toBe('STORAGE.UNSAFE_KEY');
  });

  it.each([
    ['31 bytes', new Uint8Array(31)],
    ['63 hex digits', 'a'.repeat(63)],
    ['non-hex', 'g'.repeat(64)],
    ['a "SHA256 " label', `SHA256 ${'a'.repeat(64)}`],
  ])('refuses a fingerprint of %s', (_label, fingerprintSha256) => {
    expect(codeOf(() => stiCrKeyFor({ spc: '818H', fingerprintSha256 }))).toBe('STORAGE.UNSAFE_KEY');
  });
});

describe('assertSafeStiCrKey: what every driver re-checks', () => {
  const good = '818H/0123456789abcdef.pem';

  it('accepts a key stiCrKeyFor produces', () => {
    expect(assertSafeStiCrKey(good)).toBe(good);
    expect(isSafeStiCrKey(good)).toBe(true);
  });

  it.each([
    ['parent traversal', '../818H/0123456789abcdef.pem'],
    ['traversal inside', '818H/../0123456789abcdef.pem'],
    ['an absolute path', '/818H/0123456789abcdef.pem'],
    ['a URL-encoded traversal', '%2e%2e/0123456789abcdef.pem'],
    ['an encoded slash', '818H%2F0123456789abcdef.pem'],
    ['a double-encoded dot', '%252e%252e/0123456789abcdef.pem'],
    ['a NUL byte', '818H/0123456789abcdef.pem\0'],
    ['a NUL before the extension', '818H/0123456789abcdef\0.pem'],
    ['a backslash', '818H\\0123456789abcdef.pem'],
    ['a Windows traversal', '..\\..\\0123456789abcdef.pem'],
    ['an empty segment', '818H//0123456789abcdef.pem'],
    ['a trailing slash', `${good}/`],
    ['a hidden file (temp files)', '818H/.0123456789abcde.pem'],
    ['uppercase hex', '818H/0123456789ABCDEF.pem'],
    ['another extension', '818H/0123456789abcdef.PEM'],
    ['a query', `${good}?x=1`],
    ['a fragment', `${good}#x`],
    ['trailing whitespace', `${good} `],
    ['a newline', `${good}\n`],
    ['a fullwidth solidus', '818H／0123456789abcdef.pem'],
    ['too few hex digits', '818H/0123456789abcde.pem'],
    ['overlong', `${'A'.repeat(10_000)}/0123456789abcdef.pem`],
    ['empty', ''],
  ])('refuses %s', (_label, key) => {
    expect(codeOf(() => assertSafeStiCrKey(key))).toBe('STORAGE.UNSAFE_KEY');
    expect(isSafeStiCrKey(key)).toBe(false);
  });

  it('refuses non-strings', () => {
    for (const key of [undefined, null, 42, ['818H', '0123456789abcdef.pem'], { toString: () => good }]) {
      expect(codeOf(() => assertSafeStiCrKey(key))).toBe('STORAGE.UNSAFE_KEY');
    }
  });

  it('quotes a refused key with control characters escaped and capped in length', () => {
    try {
      assertSafeStiCrKey(`818H/\0${'x'.repeat(40)}`);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('\\u0000');
      expect((error as Error).message).not.toContain('\0');
    }
  });

  it('never admits a key that leaves the root as a path, or changes under URL decoding', () => {
    const root = resolve('/srv/sti-cr');
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEFHZ./\\%2e\0 ?#-_'.split(''));
    const candidates = fc.oneof(
      fc.string({ unit: alphabet, maxLength: 60 }),
      fc.string({ maxLength: 60 }),
      fc.tuple(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: alphabet, minLength: 16, maxLength: 16 })).map(
        ([spc, hex]) => `${spc}/${hex}.pem`,
      ),
      // Keys the lib itself produces, so the property is exercised on accepted keys too.
      fc.tuple(
        fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('')), minLength: 1, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
      ).map(([spc, fingerprintSha256]) => stiCrKeyFor({ spc, fingerprintSha256 }) as string),
    );
    let accepted = 0;
    fc.assert(
      fc.property(candidates, (key) => {
        if (!isSafeStiCrKey(key)) return;
        accepted += 1;
        expect(key.length).toBeLessThanOrEqual(MAX_STI_CR_KEY_LENGTH);
        expect(resolve(root, key).startsWith(root + sep)).toBe(true);
        expect(resolve(root, key)).toBe(`${root}/${key}`);
        expect(decodeURIComponent(key)).toBe(key);
        expect(new URL(key, 'https://cr.example.net/sti-cr/').pathname).toBe(`/sti-cr/${key}`);
      }),
      { numRuns: 2_000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
