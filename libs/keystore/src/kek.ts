import { createHash } from 'node:crypto';
import { KeystoreError } from './errors.js';

const KEK_BYTES = 32;
/** Bytes of SHA-256(KEK) that name it in blobs and in the database (kek_id). */
export const KEK_ID_BYTES = 8;

const material = new WeakMap<Kek, Buffer>();

/**
 * A key-encryption key (AES-256). The key bytes are not a property: logging, inspecting or
 * serialising a Kek shows only its id.
 */
export class Kek {
  /** Hex of the first 8 bytes of SHA-256 over the key. */
  readonly id: string;

  private constructor(key: Buffer) {
    this.id = createHash('sha256').update(key).digest().subarray(0, KEK_ID_BYTES).toString('hex');
    material.set(this, key);
  }

  static fromBytes(bytes: Uint8Array): Kek {
    if (bytes.length !== KEK_BYTES) {
      throw new KeystoreError('KEYSTORE.INVALID_KEK', `a key-encryption key is ${KEK_BYTES} bytes, got ${bytes.length}`);
    }
    return new Kek(Buffer.from(bytes));
  }

  /**
   * Parses a master key written as 64 hex digits or as base64/base64url of 32 bytes. `source`
   * names where it came from in the error (e.g. CLM_MASTER_KEY); the value itself is never shown.
   */
  static parse(text: string, source: string): Kek {
    const value = text.trim();
    let bytes: Buffer | undefined;
    if (/^[0-9a-fA-F]{64}$/.test(value)) bytes = Buffer.from(value, 'hex');
    else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(value)) bytes = Buffer.from(value, 'base64');
    if (!bytes || bytes.length !== KEK_BYTES) {
      throw new KeystoreError('KEYSTORE.INVALID_KEK', `${source} must be ${KEK_BYTES} bytes written as 64 hex digits or base64`);
    }
    return new Kek(bytes);
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  toString(): string {
    return `Kek(${this.id})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** The key bytes, for this library's cipher code only (not exported from the barrel). */
export function kekMaterial(kek: Kek): Buffer {
  const key = material.get(kek);
  if (!key) throw new KeystoreError('KEYSTORE.INVALID_KEK', 'not a key-encryption key made by Kek.fromBytes or Kek.parse');
  return key;
}

/** The current KEK (seals) and older ones still accepted for opening and rewrapping. */
export interface KekRing {
  readonly current: Kek;
  readonly previous: readonly Kek[];
}
