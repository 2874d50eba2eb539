import { createCipheriv, createDecipheriv, createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import { KeystoreError } from './errors.js';
import { type Kek, KEK_ID_BYTES, kekMaterial, type KekRing } from './kek.js';

/**
 * Sealed blob, version 1:
 *
 *   "CLMS" | 0x01 | kek id (8) | iv (12) | tag (16) | ciphertext
 *
 * AES-256-GCM under the KEK named in the header. The additional authenticated data is the header
 * followed by the caller's `aad` (UTF-8), so neither the header nor the record a blob belongs to
 * can change without the tag failing: a blob copied to another record, or used for another
 * purpose, does not open.
 */
const MAGIC = Buffer.from('CLMS', 'ascii');
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 1 + KEK_ID_BYTES;
const MIN_BLOB_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;

/** AAD prefix for PKCS#8 private keys, so a key blob and e.g. a password blob never interchange. */
const PRIVATE_KEY_PURPOSE = 'pkcs8-private-key:';

/**
 * Seals secrets at rest (private keys, STI-PA passwords, EAB and webhook secrets) under the
 * current KEK and opens blobs sealed under it or under a previous one, so the KEK can be
 * rotated: load the new one as current, the old one as previous, and rewrap.
 *
 * `aad` names what the blob is and which record it belongs to, e.g. `sti_pa_accounts.password:<id>`;
 * the same string must be given to open it.
 */
export class Keystore {
  private readonly current: Kek;
  private readonly byId: ReadonlyMap<string, Kek>;

  constructor(ring: KekRing) {
    this.current = ring.current;
    this.byId = new Map([...ring.previous, ring.current].map((kek) => [kek.id, kek]));
  }

  /** Id of the KEK new blobs are sealed under (stored beside blobs as kek_id). */
  get currentKekId(): string {
    return this.current.id;
  }

  /** Ids of every KEK this keystore can open blobs under. */
  get kekIds(): readonly string[] {
    return [...this.byId.keys()];
  }

  seal(plaintext: Uint8Array, aad: string): Buffer {
    const header = Buffer.concat([MAGIC, Buffer.of(VERSION), Buffer.from(this.current.id, 'hex')]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', kekMaterial(this.current), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
  }

  open(blob: Uint8Array, aad: string): Buffer {
    const { header, kekId, iv, tag, ciphertext } = parse(blob);
    const kek = this.byId.get(kekId);
    if (!kek) throw new KeystoreError('KEYSTORE.UNKNOWN_KEK', `blob sealed under KEK ${kekId}, which this keystore does not hold`);
    const decipher = createDecipheriv('aes-256-gcm', kekMaterial(kek), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      // Deliberately no cause: nothing about the contents may travel with the error.
      throw new KeystoreError('KEYSTORE.OPEN_FAILED', `blob under KEK ${kekId} failed authentication: altered, or sealed for another record or purpose`);
    }
  }

  /** The id of the KEK a blob was sealed under. */
  kekIdOf(blob: Uint8Array): string {
    return parse(blob).kekId;
  }

  /** True when the blob is not under the current KEK. */
  needsRewrap(blob: Uint8Array): boolean {
    return this.kekIdOf(blob) !== this.current.id;
  }

  /** Opens a blob under whichever KEK it names and seals it again under the current KEK. */
  rewrap(blob: Uint8Array, aad: string): Buffer {
    const plaintext = this.open(blob, aad);
    try {
      return this.seal(plaintext, aad);
    } finally {
      plaintext.fill(0);
    }
  }

  /** Seals a PKCS#8 (DER) private key after checking it is one. */
  sealPrivateKey(pkcs8Der: Uint8Array, aad: string): Buffer {
    try {
      createPrivateKey({ key: Buffer.from(pkcs8Der), format: 'der', type: 'pkcs8' });
    } catch {
      throw new KeystoreError('KEYSTORE.INVALID_PRIVATE_KEY', 'the bytes given are not a DER PKCS#8 private key');
    }
    return this.seal(pkcs8Der, PRIVATE_KEY_PURPOSE + aad);
  }

  /** The PKCS#8 DER of a key sealed by sealPrivateKey. */
  openPrivateKeyDer(blob: Uint8Array, aad: string): Buffer {
    return this.open(blob, PRIVATE_KEY_PURPOSE + aad);
  }

  /** A private KeyObject for a key sealed by sealPrivateKey (its material never prints). */
  openPrivateKey(blob: Uint8Array, aad: string): KeyObject {
    const der = this.openPrivateKeyDer(blob, aad);
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
  }

  /** rewrap for blobs made by sealPrivateKey. */
  rewrapPrivateKey(blob: Uint8Array, aad: string): Buffer {
    return this.rewrap(blob, PRIVATE_KEY_PURPOSE + aad);
  }
}

interface ParsedBlob {
  readonly header: Buffer;
  readonly kekId: string;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

function parse(blob: Uint8Array): ParsedBlob {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < MIN_BLOB_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new KeystoreError('KEYSTORE.MALFORMED_BLOB', 'not a sealed blob');
  }
  const version = bytes[MAGIC.length];
  if (version !== VERSION) throw new KeystoreError('KEYSTORE.MALFORMED_BLOB', `sealed blob version ${version} is not supported`);
  const header = bytes.subarray(0, HEADER_BYTES);
  let offset = HEADER_BYTES;
  const iv = bytes.subarray(offset, (offset += IV_BYTES));
  const tag = bytes.subarray(offset, (offset += TAG_BYTES));
  return { header, kekId: header.subarray(MAGIC.length + 1).toString('hex'), iv, tag, ciphertext: bytes.subarray(offset) };
}
