import { KeyObject, sign as nodeSign, verify as nodeVerify, webcrypto } from 'node:crypto';
import { base64UrlDecode, base64UrlEncode } from './encoding.js';
import { ShakenError } from './errors.js';
import { type CryptoKey, type PublicKeyInput, importSpki } from './keys.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Something that makes ES256 signatures without handing out its key (an HSM, a KMS): returns the
 * raw 64-byte R||S of RFC 7518 §3.4 over `signingInput`.
 */
export interface Es256Signer {
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

/** A P-256 private CryptoKey or an external signer. */
export type SigningKey = CryptoKey | Es256Signer;

export interface ParsedCompactJws {
  header: JsonObject;
  payload: JsonObject;
  /** ASCII bytes of `<header>.<payload>` as received: what the signature covers. */
  signingInput: Uint8Array;
  signature: Uint8Array;
}

// Generous for a CA list JWS that carries every approved CA's PEM; anything larger is not SHAKEN.
const MAX_COMPACT_JWS_LENGTH = 1_000_000;
// RFC 7518 §3.4: ES256 signature = R || S, 32 bytes each.
const ES256_SIGNATURE_LENGTH = 64;

/**
 * RFC 8225 §9 deterministic JSON: object members in lexicographic order of their names, no
 * insignificant whitespace. Also what RFC 7638 thumbprints and this library's JWS headers use.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ShakenError('JWS.INVALID_JSON', 'JSON cannot carry NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const members = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`);
    return `{${members.join(',')}}`;
  }
  throw new ShakenError('JWS.INVALID_JSON', `a ${typeof value} cannot be written as JSON`);
}

function isSigner(key: SigningKey): key is Es256Signer {
  return typeof (key as Partial<Es256Signer>).sign === 'function';
}

// Node's one-shot crypto.sign is several times faster than the promise-based subtle API and takes
// the same key through KeyObject.from; the cache keeps one KeyObject per CryptoKey.
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function keyObjectOf(key: CryptoKey): KeyObject | undefined {
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    try {
      keyObject = KeyObject.from(key);
    } catch {
      return undefined; // a CryptoKey from another WebCrypto provider
    }
    keyObjects.set(key, keyObject);
  }
  return keyObject;
}

/** ES256 over `data`, raw R||S. */
export async function es256Sign(key: SigningKey, data: Uint8Array): Promise<Uint8Array> {
  if (isSigner(key)) {
    const signature = await key.sign(data);
    if (signature.byteLength !== ES256_SIGNATURE_LENGTH) {
      throw new ShakenError('JWS.SIGNER_FAILED', `signer returned ${signature.byteLength} bytes, ES256 needs raw 64-byte R||S`);
    }
    return signature;
  }
  const algorithm = key.algorithm as { name?: string; namedCurve?: string };
  if (key.type !== 'private' || algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw new ShakenError('JWS.UNSUPPORTED_KEY', 'ES256 needs an ECDSA P-256 private key');
  }
  const keyObject = keyObjectOf(key);
  if (keyObject !== undefined) {
    return new Uint8Array(nodeSign('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }));
  }
  return new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data));
}

/** Checks an ES256 raw R||S signature over `data`. */
export async function es256Verify(publicKey: PublicKeyInput, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.byteLength !== ES256_SIGNATURE_LENGTH) return false;
  const key = publicKey instanceof Uint8Array || publicKey instanceof ArrayBuffer ? await importSpki(publicKey) : publicKey;
  const keyObject = keyObjectOf(key);
  if (keyObject !== undefined) {
    return nodeVerify('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature);
  }
  return webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data);
}

/**
 * RFC 7515 §7.1 compact serialization, ES256. Header and payload are written as canonical JSON
 * (RFC 8225 §9), which every JSON reader accepts. A header `alg` other than ES256 is refused.
 */
export async function signCompactJws(header: JsonObject, payload: JsonObject, key: SigningKey): Promise<string> {
  if (header.alg !== undefined && header.alg !== 'ES256') {
    throw new ShakenError('JWS.UNSUPPORTED_ALG', `only ES256 is supported, header asks for ${JSON.stringify(header.alg)}`);
  }
  const signingInput = `${base64UrlEncode(canonicalJson({ ...header, alg: 'ES256' }))}.${base64UrlEncode(canonicalJson(payload))}`;
  const signature = await es256Sign(key, Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${base64UrlEncode(signature)}`;
}

function parseJsonObject(part: string, what: string): JsonObject {
  const bytes = base64UrlDecode(part);
  if (bytes === undefined || bytes.byteLength === 0) {
    throw new ShakenError('JWS.MALFORMED', `JWS ${what} is not base64url`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new ShakenError('JWS.MALFORMED', `JWS ${what} is not UTF-8 JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ShakenError('JWS.MALFORMED', `JWS ${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Splits and decodes a compact JWS with a JSON object payload. Every failure is `JWS.MALFORMED`
 * with the part that is wrong; the token itself is never put into the message.
 */
export function parseCompactJws(token: string): ParsedCompactJws {
  if (typeof token !== 'string') throw new ShakenError('JWS.MALFORMED', 'JWS must be a string');
  if (token.length > MAX_COMPACT_JWS_LENGTH) {
    throw new ShakenError('JWS.MALFORMED', `JWS is ${token.length} characters long (at most ${MAX_COMPACT_JWS_LENGTH})`);
  }
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new ShakenError('JWS.MALFORMED', `compact JWS has ${parts.length} parts separated by '.', expected 3`);
  }
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = parseJsonObject(headerPart, 'header');
  const payload = parseJsonObject(payloadPart, 'payload');
  const signature = base64UrlDecode(signaturePart);
  if (signature === undefined || signature.byteLength === 0) {
    throw new ShakenError('JWS.MALFORMED', 'JWS signature is missing or not base64url');
  }
  return { header, payload, signingInput: Buffer.from(`${headerPart}.${payloadPart}`, 'ascii'), signature };
}

/**
 * True when the ES256 signature of a parsed JWS verifies with `publicKey`. Throws
 * `JWS.UNSUPPORTED_ALG` when the header names another algorithm (RFC 7515 §10.7: the algorithm
 * is fixed by the application, never taken from the token).
 */
export async function verifyCompactJwsSignature(parsed: ParsedCompactJws, publicKey: PublicKeyInput): Promise<boolean> {
  if (parsed.header.alg !== 'ES256') {
    throw new ShakenError('JWS.UNSUPPORTED_ALG', `JWS alg ${JSON.stringify(parsed.header.alg)} is not ES256`);
  }
  return es256Verify(publicKey, parsed.signingInput, parsed.signature);
}
