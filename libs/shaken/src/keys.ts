import { createHash, webcrypto } from 'node:crypto';
import { ECParameters, ECPrivateKey, id_ecPublicKey, id_secp256r1 } from '@peculiar/asn1-ecc';
import { PrivateKeyInfo } from '@peculiar/asn1-pkcs8';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import {
  type BinaryInput,
  base64UrlDecode,
  base64UrlEncode,
  bytesEqual,
  pemDecodeAll,
  pemEncode,
  toArrayBuffer,
} from './encoding.js';
import { ShakenError } from './errors.js';

// Node's types keep WebCrypto under `webcrypto`; these aliases name them once for every module.
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** A P-256 public key as a JWK (RFC 7518 §6.2.1), members limited to those that define the key. */
export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

export interface EcPrivateJwk extends EcPublicJwk {
  d: string;
}

/** A public key as a CryptoKey or as DER SubjectPublicKeyInfo bytes. */
export type PublicKeyInput = CryptoKey | BinaryInput;

export type PrivateKeyPemFormat = 'sec1' | 'pkcs8';

// ATIS-1000080 v005 §6.4.1 / RFC 8588: SHAKEN keys are ECDSA P-256, signatures ES256.
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const subtle = webcrypto.subtle;

export function generateP256KeyPair(extractable = true): Promise<CryptoKeyPair> {
  return subtle.generateKey(EC_P256, extractable, ['sign', 'verify']);
}

// Bytes are DER; anything else is a CryptoKey (possibly from another WebCrypto provider).
function isCryptoKey(value: PublicKeyInput): value is CryptoKey {
  return !(value instanceof Uint8Array || value instanceof ArrayBuffer);
}

function assertP256(key: CryptoKey, type: 'public' | 'private'): void {
  const algorithm = key.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw new ShakenError('KEY.UNSUPPORTED_ALGORITHM', `expected an ECDSA P-256 key, got ${algorithm.name ?? 'unknown'} ${algorithm.namedCurve ?? ''}`.trim());
  }
  if (key.type !== type) throw new ShakenError('KEY.WRONG_TYPE', `expected a ${type} key, got a ${key.type} key`);
}

function assertExtractable(key: CryptoKey): void {
  if (!key.extractable && key.type === 'private') {
    throw new ShakenError('KEY.NOT_EXTRACTABLE', 'the private key is not extractable');
  }
}

async function exportJwk(key: CryptoKey): Promise<webcrypto.JsonWebKey> {
  assertExtractable(key);
  return subtle.exportKey('jwk', key);
}

// SEC 1 §2.3.3: uncompressed point 04 || X || Y.
function jwkPoint(jwk: EcPublicJwk): Uint8Array {
  const x = base64UrlDecode(jwk.x);
  const y = base64UrlDecode(jwk.y);
  if (x?.byteLength !== 32 || y?.byteLength !== 32) {
    throw new ShakenError('KEY.MALFORMED_JWK', 'JWK x and y must be 32-byte base64url values for P-256');
  }
  const point = new Uint8Array(65);
  point[0] = 0x04;
  point.set(x, 1);
  point.set(y, 33);
  return point;
}

/** The public key as DER SubjectPublicKeyInfo (RFC 5480). */
export async function spkiDer(publicKey: PublicKeyInput): Promise<Uint8Array> {
  const key = isCryptoKey(publicKey) ? publicKey : await importSpki(publicKey);
  assertP256(key, 'public');
  return new Uint8Array(await subtle.exportKey('spki', key));
}

/**
 * Imports DER SubjectPublicKeyInfo of a P-256 key. Throws `KEY.MALFORMED` for bytes that are not
 * SPKI and `KEY.UNSUPPORTED_ALGORITHM` / `KEY.UNSUPPORTED_CURVE` for other key types.
 */
export async function importSpki(der: BinaryInput): Promise<CryptoKey> {
  let spki: SubjectPublicKeyInfo;
  try {
    spki = AsnConvert.parse(toArrayBuffer(der), SubjectPublicKeyInfo);
  } catch (cause) {
    throw new ShakenError('KEY.MALFORMED', 'bytes are not a DER SubjectPublicKeyInfo', { cause });
  }
  assertEcP256Algorithm(spki.algorithm);
  try {
    return await subtle.importKey('spki', toArrayBuffer(der), EC_P256, true, ['verify']);
  } catch (cause) {
    throw new ShakenError('KEY.MALFORMED', 'the P-256 public key point is invalid', { cause });
  }
}

function namedCurveOf(algorithm: AlgorithmIdentifier): string | undefined {
  if (!algorithm.parameters) return undefined;
  try {
    return AsnConvert.parse(algorithm.parameters, ECParameters).namedCurve;
  } catch {
    return undefined;
  }
}

function assertEcP256Algorithm(algorithm: AlgorithmIdentifier): void {
  if (algorithm.algorithm !== id_ecPublicKey) {
    throw new ShakenError('KEY.UNSUPPORTED_ALGORITHM', `key algorithm ${algorithm.algorithm} is not id-ecPublicKey`);
  }
  const curve = namedCurveOf(algorithm);
  if (curve !== id_secp256r1) {
    throw new ShakenError('KEY.UNSUPPORTED_CURVE', `key curve ${curve ?? '(not a named curve)'} is not P-256 (${id_secp256r1})`);
  }
}

/** RFC 7638 thumbprint input and JWS `jwk` header value: only kty, crv, x, y. */
export async function exportPublicJwk(publicKey: PublicKeyInput): Promise<EcPublicJwk> {
  const key = isCryptoKey(publicKey) ? publicKey : await importSpki(publicKey);
  assertP256(key, 'public');
  const jwk = await subtle.exportKey('jwk', key);
  return { kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '' };
}

export async function exportPrivateJwk(privateKey: CryptoKey): Promise<EcPrivateJwk> {
  assertP256(privateKey, 'private');
  const jwk = await exportJwk(privateKey);
  return { kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '', d: jwk.d ?? '' };
}

function assertEcJwk(jwk: unknown, needPrivate: boolean): asserts jwk is EcPrivateJwk {
  const j = jwk as Partial<Record<string, unknown>> | null;
  if (typeof j !== 'object' || j === null || j.kty !== 'EC') {
    throw new ShakenError('KEY.MALFORMED_JWK', 'JWK must be an object with kty "EC"');
  }
  if (j.crv !== 'P-256') throw new ShakenError('KEY.UNSUPPORTED_CURVE', `JWK curve ${String(j.crv)} is not P-256`);
  if (typeof j.x !== 'string' || typeof j.y !== 'string') {
    throw new ShakenError('KEY.MALFORMED_JWK', 'JWK needs string x and y members');
  }
  jwkPoint(j as unknown as EcPublicJwk);
  if (needPrivate && (typeof j.d !== 'string' || base64UrlDecode(j.d)?.byteLength !== 32)) {
    throw new ShakenError('KEY.MALFORMED_JWK', 'private JWK needs a 32-byte base64url d member');
  }
}

export async function importPublicJwk(jwk: EcPublicJwk): Promise<CryptoKey> {
  assertEcJwk(jwk, false);
  const { kty, crv, x, y } = jwk;
  try {
    return await subtle.importKey('jwk', { kty, crv, x, y }, EC_P256, true, ['verify']);
  } catch (cause) {
    throw new ShakenError('KEY.MALFORMED_JWK', 'JWK x/y is not a point on P-256', { cause });
  }
}

export async function importPrivateJwk(jwk: EcPrivateJwk, extractable = true): Promise<CryptoKeyPair> {
  assertEcJwk(jwk, true);
  const { kty, crv, x, y, d } = jwk;
  try {
    const privateKey = await subtle.importKey('jwk', { kty, crv, x, y, d }, EC_P256, extractable, ['sign']);
    const publicKey = await subtle.importKey('jwk', { kty, crv, x, y }, EC_P256, true, ['verify']);
    return { privateKey, publicKey };
  } catch (cause) {
    // The cause comes from WebCrypto and names no key material.
    throw new ShakenError('KEY.MALFORMED_JWK', 'JWK does not describe a valid P-256 key pair', { cause });
  }
}

/** SEC1 point of the public half, from either form of the private key. */
async function publicPointOf(privateKey: CryptoKey): Promise<Uint8Array> {
  const jwk = await exportJwk(privateKey);
  return jwkPoint({ kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '' });
}

/**
 * PEM of the private key. `sec1` is `BEGIN EC PRIVATE KEY` (RFC 5915) with the namedCurve
 * parameters and the public key, as `openssl ecparam -genkey` writes it and as hosted signers
 * ask for; `pkcs8` is `BEGIN PRIVATE KEY` (RFC 5208). Throws `KEY.NOT_EXTRACTABLE` for keys
 * held where they cannot be exported.
 */
export async function exportPrivateKeyPem(privateKey: CryptoKey, format: PrivateKeyPemFormat = 'pkcs8'): Promise<string> {
  assertP256(privateKey, 'private');
  assertExtractable(privateKey);
  const pkcs8 = await subtle.exportKey('pkcs8', privateKey);
  if (format === 'pkcs8') return pemEncode(pkcs8, 'PRIVATE KEY');
  const info = AsnConvert.parse(pkcs8, PrivateKeyInfo);
  const inner = AsnConvert.parse(info.privateKey.buffer, ECPrivateKey);
  const sec1 = new ECPrivateKey({
    version: 1,
    privateKey: inner.privateKey,
    // RFC 5915 §3: parameters and publicKey are optional, but OpenSSL always writes both and some
    // signers refuse a key without the curve.
    parameters: new ECParameters({ namedCurve: id_secp256r1 }),
    publicKey: toArrayBuffer(inner.publicKey ?? (await publicPointOf(privateKey))),
  });
  return pemEncode(AsnConvert.serialize(sec1), 'EC PRIVATE KEY');
}

function parseSec1(der: Uint8Array): ECPrivateKey {
  let key: ECPrivateKey;
  try {
    key = AsnConvert.parse(toArrayBuffer(der), ECPrivateKey);
  } catch (cause) {
    throw new ShakenError('KEY.MALFORMED', 'EC PRIVATE KEY is not a DER ECPrivateKey (RFC 5915)', { cause });
  }
  if (key.version !== 1) throw new ShakenError('KEY.MALFORMED', `ECPrivateKey version ${key.version} is not 1`);
  if (key.parameters !== undefined && key.parameters.namedCurve !== id_secp256r1) {
    throw new ShakenError('KEY.UNSUPPORTED_CURVE', `key curve ${key.parameters.namedCurve ?? '(explicit parameters)'} is not P-256`);
  }
  if (key.privateKey.byteLength !== 32) {
    throw new ShakenError('KEY.MALFORMED', `P-256 private key must be 32 bytes, got ${key.privateKey.byteLength}`);
  }
  return key;
}

// RFC 5915 §2 inside RFC 5208: the curve moves to the AlgorithmIdentifier. Without `point`, WebCrypto
// derives the public key itself, so a stored public key can be checked against the derived one.
function scalarToPkcs8(key: ECPrivateKey, point?: Uint8Array): ArrayBuffer {
  const inner = new ECPrivateKey({
    version: 1,
    privateKey: key.privateKey,
    publicKey: point === undefined ? undefined : toArrayBuffer(point),
  });
  const info = new PrivateKeyInfo({
    privateKeyAlgorithm: new AlgorithmIdentifier({
      algorithm: id_ecPublicKey,
      parameters: AsnConvert.serialize(new ECParameters({ namedCurve: id_secp256r1 })),
    }),
    privateKey: new OctetString(AsnConvert.serialize(inner)),
  });
  return AsnConvert.serialize(info);
}

function parsePkcs8(der: Uint8Array): ECPrivateKey {
  let info: PrivateKeyInfo;
  try {
    info = AsnConvert.parse(toArrayBuffer(der), PrivateKeyInfo);
  } catch (cause) {
    throw new ShakenError('KEY.MALFORMED', 'PRIVATE KEY is not a DER PrivateKeyInfo (RFC 5208)', { cause });
  }
  assertEcP256Algorithm(info.privateKeyAlgorithm);
  return parseSec1(new Uint8Array(info.privateKey.buffer));
}

/**
 * Imports a P-256 private key from PEM, SEC1 (`EC PRIVATE KEY`, optionally after an
 * `EC PARAMETERS` block as `openssl ecparam -genkey` writes) or PKCS#8 (`PRIVATE KEY`), and
 * returns the key pair. Error codes: `KEY.MALFORMED_PEM`, `KEY.ENCRYPTED`, `KEY.MALFORMED`,
 * `KEY.UNSUPPORTED_ALGORITHM`, `KEY.UNSUPPORTED_CURVE`, `KEY.INCONSISTENT` (the embedded public key
 * does not belong to the private key).
 */
export async function importPrivateKeyPem(pem: string, extractable = true): Promise<CryptoKeyPair> {
  if (typeof pem !== 'string') throw new ShakenError('KEY.MALFORMED_PEM', 'private key PEM must be a string');
  // RFC 1421 headers mark a legacy encrypted PEM; PKCS#8 has its own label.
  if (/Proc-Type:\s*4,ENCRYPTED/.test(pem) || pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new ShakenError('KEY.ENCRYPTED', 'encrypted private keys are not supported; decrypt it first');
  }
  const blocks = pemDecodeAll(pem);
  if (blocks === undefined) throw new ShakenError('KEY.MALFORMED_PEM', 'a PEM block has an invalid base64 body');
  const keyBlocks = blocks.filter((block) => block.label === 'EC PRIVATE KEY' || block.label === 'PRIVATE KEY');
  if (keyBlocks.length !== 1) {
    const labels = blocks.map((block) => block.label).join(', ') || 'none';
    throw new ShakenError('KEY.MALFORMED_PEM', `expected exactly one EC PRIVATE KEY or PRIVATE KEY block, found: ${labels}`);
  }
  const [block] = keyBlocks as [(typeof keyBlocks)[number]];
  const stored = block.label === 'EC PRIVATE KEY' ? parseSec1(block.der) : parsePkcs8(block.der);
  let probe: CryptoKey;
  try {
    probe = await subtle.importKey('pkcs8', scalarToPkcs8(stored), EC_P256, true, ['sign']);
  } catch (cause) {
    throw new ShakenError('KEY.MALFORMED', 'the private key is not a valid P-256 key', { cause });
  }
  const point = await publicPointOf(probe);
  if (stored.publicKey !== undefined && !bytesEqual(stored.publicKey, point)) {
    throw new ShakenError('KEY.INCONSISTENT', 'the public key stored with the private key does not belong to it');
  }
  // Re-imported with the public key inside, so that a PKCS#8 export carries it as OpenSSL's does.
  const pkcs8 = scalarToPkcs8(stored, point);
  const privateKey = await subtle.importKey('pkcs8', pkcs8, EC_P256, extractable, ['sign']);
  const publicKey = await subtle.importKey('raw', toArrayBuffer(point), EC_P256, true, ['verify']);
  return { privateKey, publicKey };
}

/**
 * The `atc.fingerprint` form the STI-PA expects: `SHA256 ` + uppercase colon-separated hex of
 * SHA-256 over the DER SubjectPublicKeyInfo (ATIS-1000080 v005 §5.3.1, RFC 8555 account key).
 */
export async function stiPaFingerprint(publicKey: PublicKeyInput): Promise<string> {
  const digest = createHash('sha256').update(await spkiDer(publicKey)).digest('hex').toUpperCase();
  return `SHA256 ${digest.replace(/(..)(?!$)/g, '$1:')}`;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url): members crv, kty, x, y in that order. */
export async function jwkThumbprint(publicKey: PublicKeyInput): Promise<string> {
  const { crv, kty, x, y } = await exportPublicJwk(publicKey);
  return base64UrlEncode(createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest());
}

/** Same public key, compared as DER SubjectPublicKeyInfo. */
export async function publicKeysEqual(a: PublicKeyInput, b: PublicKeyInput): Promise<boolean> {
  return bytesEqual(await spkiDer(a), await spkiDer(b));
}
