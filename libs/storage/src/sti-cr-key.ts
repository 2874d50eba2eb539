import { StorageError, StorageErrorCode } from './storage-error.js';

/**
 * An object key in an STI-CR store: `<SPC>/<16 lowercase hex>.pem`, e.g. `818H/3f9a0c1d2b4e5f60.pem`.
 *
 * Keys are opaque to callers and produced only by `stiCrKeyFor`; every driver re-checks them with
 * `assertSafeStiCrKey` before touching storage, because a key also becomes a file path and a URL
 * path. The grammar admits no `.`-segments, no `/` at either end, no `%`, no `\` and nothing
 * outside ASCII letters and digits, so no decoding layer (URL, filesystem, S3) can turn it into
 * a different location.
 */
export type StiCrKey = string & { readonly __brand: 'StiCrKey' };

// ATIS-1000080 v005 §6.4.1: an SPC holds only digits and uppercase letters. OCNs are 4 characters;
// no standard bounds the length, 32 only keeps garbage out (same cap as @app/shaken).
const SPC = /^[0-9A-Z]{1,32}$/;
const KEY = /^[0-9A-Z]{1,32}\/[0-9a-f]{16}\.pem$/;
/** Longest key the grammar admits: 32 + 1 + 16 + 4. */
export const MAX_STI_CR_KEY_LENGTH = 53;
/** 64 bits of the certificate's SHA-256 fingerprint: unique per certificate, short in an x5u. */
const FINGERPRINT_HEX_IN_KEY = 16;

export interface StiCrKeyInput {
  /** The provider's SPC (its OCN), as in the certificate's TNAuthList. */
  readonly spc: string;
  /** SHA-256 over the leaf certificate's DER: 32 bytes, or 64 hex digits (colons allowed). */
  readonly fingerprintSha256: Uint8Array | string;
}

/** The key under which the chain of this certificate is published: one immutable URL per certificate. */
export function stiCrKeyFor(input: StiCrKeyInput): StiCrKey {
  if (typeof input.spc !== 'string' || !SPC.test(input.spc)) {
    throw new StorageError(
      StorageErrorCode.UNSAFE_KEY,
      `SPC ${describe(input.spc)} is not 1 to 32 digits and uppercase letters`,
    );
  }
  const hex = fingerprintHex(input.fingerprintSha256);
  return assertSafeStiCrKey(`${input.spc}/${hex.slice(0, FINGERPRINT_HEX_IN_KEY)}.pem`);
}

/** Returns `key` as a StiCrKey, or throws `STORAGE.UNSAFE_KEY` naming what is wrong with it. */
export function assertSafeStiCrKey(key: unknown): StiCrKey {
  if (typeof key !== 'string') {
    throw new StorageError(StorageErrorCode.UNSAFE_KEY, `an STI-CR key must be a string, got ${typeof key}`);
  }
  if (key.length > MAX_STI_CR_KEY_LENGTH) {
    throw new StorageError(
      StorageErrorCode.UNSAFE_KEY,
      `STI-CR key is ${key.length} characters long (at most ${MAX_STI_CR_KEY_LENGTH})`,
    );
  }
  if (!KEY.test(key)) {
    throw new StorageError(
      StorageErrorCode.UNSAFE_KEY,
      `STI-CR key ${describe(key)} is not of the form <SPC>/<16 lowercase hex digits>.pem`,
    );
  }
  return key as StiCrKey;
}

export function isSafeStiCrKey(key: unknown): key is StiCrKey {
  return typeof key === 'string' && key.length <= MAX_STI_CR_KEY_LENGTH && KEY.test(key);
}

function fingerprintHex(fingerprint: Uint8Array | string): string {
  if (fingerprint instanceof Uint8Array) {
    if (fingerprint.byteLength !== 32) {
      throw new StorageError(
        StorageErrorCode.UNSAFE_KEY,
        `a SHA-256 fingerprint is 32 bytes, got ${fingerprint.byteLength}`,
      );
    }
    return Buffer.from(fingerprint).toString('hex');
  }
  if (typeof fingerprint === 'string') {
    const hex = fingerprint.replaceAll(':', '');
    if (/^[0-9A-Fa-f]{64}$/.test(hex)) return hex.toLowerCase();
  }
  throw new StorageError(
    StorageErrorCode.UNSAFE_KEY,
    'a SHA-256 fingerprint must be 32 bytes or 64 hex digits (optionally colon-separated)',
  );
}

/** Quotes untrusted text for a message: JSON escapes NUL and control characters, and it is capped. */
function describe(value: unknown): string {
  const text = JSON.stringify(typeof value === 'string' ? value : String(value));
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}
