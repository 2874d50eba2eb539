import type { webcrypto } from 'node:crypto';
import { base64UrlDecode, base64UrlEncode, importPublicJwk, jwkThumbprint as shakenJwkThumbprint, toArrayBuffer, type EcPublicJwk } from '@app/shaken';
import { AcmeErrorCode, AcmeUsageError } from './errors.js';

/**
 * JSON Web Signatures as ACME uses them (RFC 8555 §6.2): flattened JSON serialization, ES256 with
 * the P-256 account key, and HS256 for the External Account Binding.
 */

export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type CryptoKey = webcrypto.CryptoKey;
export type SubtleCrypto = webcrypto.SubtleCrypto;

/** RFC 7515 §7.2.2 flattened JWS JSON serialization, the only form RFC 8555 §6.2 allows. */
export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

/** RFC 7518 §6.2.1 public EC key, members limited to those RFC 7638 hashes (@app/shaken's type). */
export type { EcPublicJwk };

export type AcmeProtectedHeader =
  | { alg: 'ES256'; nonce: string; url: string; jwk: EcPublicJwk }
  | { alg: 'ES256'; nonce: string; url: string; kid: string }
  // RFC 8555 §7.3.5: the inner keyChange JWS carries no nonce.
  | { alg: 'ES256'; url: string; jwk: EcPublicJwk };

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** Throws unless `pair` is a P-256 ECDSA key pair whose private half can sign. */
export function assertP256KeyPair(pair: CryptoKeyPair, role: string): void {
  const ok = (key: CryptoKey | undefined, type: 'public' | 'private'): boolean => {
    if (!key || key.type !== type || key.algorithm.name !== 'ECDSA') return false;
    return (key.algorithm as webcrypto.EcKeyAlgorithm).namedCurve === 'P-256';
  };
  // RFC 7518 §3.4: ES256 is ECDSA over P-256 with SHA-256; SHAKEN keys are P-256 (ATIS-1000080 §6.4.1).
  if (!ok(pair?.publicKey, 'public') || !ok(pair?.privateKey, 'private') || !pair.privateKey.usages.includes('sign')) {
    throw new AcmeUsageError(AcmeErrorCode.BAD_ACCOUNT_KEY, `${role} must be a WebCrypto ECDSA P-256 key pair with a signing private key`);
  }
}

export async function exportPublicJwk(publicKey: CryptoKey, subtle: SubtleCrypto): Promise<EcPublicJwk> {
  const jwk = await subtle.exportKey('jwk', publicKey);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new AcmeUsageError(AcmeErrorCode.BAD_ACCOUNT_KEY, 'public key does not export as a P-256 JWK');
  }
  // Only the required members: extra ones (ext, key_ops) would change what the server stores.
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

/** RFC 7638 §3 thumbprint of a public JWK, computed by @app/shaken (one implementation for both sides). */
export async function jwkThumbprint(jwk: EcPublicJwk): Promise<string> {
  return shakenJwkThumbprint(await importPublicJwk(jwk));
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * `payload` undefined means POST-as-GET (RFC 8555 §6.3: the payload is the empty string).
 * WebCrypto's ECDSA output is already the raw 64-byte R||S that RFC 7518 §3.4 requires (not DER).
 */
export async function signEs256(
  header: AcmeProtectedHeader,
  payload: unknown,
  privateKey: CryptoKey,
  subtle: SubtleCrypto,
): Promise<FlattenedJws> {
  const protectedB64 = base64UrlEncode(JSON.stringify(header));
  const payloadB64 = payload === undefined ? '' : base64UrlEncode(JSON.stringify(payload));
  const signature = await subtle.sign(ES256, privateKey, toArrayBuffer(utf8(`${protectedB64}.${payloadB64}`)));
  return { protected: protectedB64, payload: payloadB64, signature: base64UrlEncode(signature) };
}

export type EabAlgorithm = 'HS256' | 'HS384' | 'HS512';

/** Credentials a CA hands out for External Account Binding (RFC 8555 §7.3.4). */
export interface ExternalAccountBinding {
  /** Key identifier assigned by the CA. */
  kid: string;
  /** The MAC key exactly as the CA gives it: base64url (trailing `=` padding tolerated). */
  hmacKey: string;
  /** Default HS256, the algorithm SHAKEN CAs document. */
  alg?: EabAlgorithm;
}

const HMAC_HASH: Record<EabAlgorithm, string> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/**
 * RFC 8555 §7.3.4: a JWS over the account's public JWK, protected header {alg, kid, url} with the
 * newAccount URL and no nonce, MACed with the CA-issued key.
 */
export async function signExternalAccountBinding(
  eab: ExternalAccountBinding,
  newAccountUrl: string,
  accountJwk: EcPublicJwk,
  subtle: SubtleCrypto,
): Promise<FlattenedJws> {
  const alg = eab.alg ?? 'HS256';
  if (!(alg in HMAC_HASH)) throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `unsupported EAB algorithm ${String(alg)}`);
  if (typeof eab.kid !== 'string' || eab.kid === '') {
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'EAB key identifier is empty');
  }
  const keyBytes = base64UrlDecode(eab.hmacKey.replace(/=+$/, ''));
  // The message deliberately says nothing about the key's content.
  if (!keyBytes || keyBytes.byteLength === 0) {
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `EAB HMAC key for kid "${eab.kid}" is not base64url`);
  }
  const key = await subtle.importKey('raw', toArrayBuffer(keyBytes), { name: 'HMAC', hash: HMAC_HASH[alg] }, false, ['sign']);
  const protectedB64 = base64UrlEncode(JSON.stringify({ alg, kid: eab.kid, url: newAccountUrl }));
  const payloadB64 = base64UrlEncode(JSON.stringify(accountJwk));
  const mac = await subtle.sign('HMAC', key, toArrayBuffer(utf8(`${protectedB64}.${payloadB64}`)));
  return { protected: protectedB64, payload: payloadB64, signature: base64UrlEncode(mac) };
}
