/**
 * Byte and text encodings shared by the SHAKEN modules. Decoders are strict (they return
 * `undefined` instead of guessing) because Node's Buffer decoders silently skip bad characters,
 * and a silently shortened TNAuthList or signature is worse than a clear error.
 */

export type BinaryInput = Uint8Array | ArrayBuffer;

export function toBytes(input: BinaryInput): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

/** A fresh ArrayBuffer holding exactly these bytes (WebCrypto and asn1js want whole buffers). */
export function toArrayBuffer(input: BinaryInput): ArrayBuffer {
  const bytes = toBytes(input);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

export function bytesEqual(a: BinaryInput, b: BinaryInput): boolean {
  const x = toBytes(a);
  const y = toBytes(b);
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

// RFC 7515 §2: base64url without padding.
const BASE64URL = /^[A-Za-z0-9_-]*$/;
// RFC 4648 §4: standard alphabet, padded to a multiple of 4.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function base64UrlEncode(input: BinaryInput | string): string {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(toBytes(input));
  return bytes.toString('base64url');
}

/** Strict base64url (no padding, no whitespace, canonical final bits); `undefined` if invalid. */
export function base64UrlDecode(text: string): Uint8Array | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  // Reject non-canonical encodings (unused low bits set), which would decode to the same bytes.
  return Buffer.from(bytes).toString('base64url') === text ? bytes : undefined;
}

export function base64Encode(input: BinaryInput): string {
  return Buffer.from(toBytes(input)).toString('base64');
}

/** Strict padded standard base64; `undefined` if invalid. */
export function base64Decode(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  return Buffer.from(bytes).toString('base64') === text ? bytes : undefined;
}

export function hexEncode(input: BinaryInput): string {
  return Buffer.from(toBytes(input)).toString('hex');
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** RFC 7468 §2: 64-character lines, LF line endings. */
export function pemEncode(der: BinaryInput, label: string): string {
  const body = base64Encode(der).replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * Every PEM block in `text`, in order. Returns `undefined` when a block's body is not valid base64
 * (RFC 7468 §3 lax parsing: whitespace inside the body is ignored).
 */
export function pemDecodeAll(text: string): PemBlock[] | undefined {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const der = base64Decode((match[2] ?? '').replace(/\s+/g, ''));
    if (der === undefined || der.byteLength === 0) return undefined;
    blocks.push({ label: match[1] ?? '', der });
  }
  return blocks;
}

export function looksLikePem(text: string): boolean {
  return text.includes('-----BEGIN ');
}
