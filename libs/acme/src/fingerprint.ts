import { jwkThumbprint as shakenJwkThumbprint, stiPaFingerprint } from '@app/shaken';
import { AcmeErrorCode, AcmeUsageError } from './errors.js';
import type { CryptoKey, SubtleCrypto } from './jws.js';

/**
 * How a CA expects the SPC token's `atc.fingerprint` (RFC 9447 §4: a fingerprint of the ACME
 * account key). Production STI-PA clients send `SHA256 AA:BB:..` over the DER SubjectPublicKeyInfo;
 * one CA documents the RFC 7638 JWK thumbprint instead, so this is a per-CA setting.
 */
export type FingerprintForm = 'spki' | 'jwk_thumbprint';

/**
 * The fingerprint we send to the STI-PA, computed by @app/shaken: the same code the STI-CA side
 * (the sandbox, our token checks) compares it with. Only the SPKI export happens here, with the
 * WebCrypto provider that holds the account key (it may not be Node's).
 */
export async function accountKeyFingerprint(publicKey: CryptoKey, form: FingerprintForm, subtle: SubtleCrypto): Promise<string> {
  if (form !== 'spki' && form !== 'jwk_thumbprint') {
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `unknown fingerprint form ${String(form)}`);
  }
  const spki = new Uint8Array(await subtle.exportKey('spki', publicKey));
  return form === 'spki' ? stiPaFingerprint(spki) : shakenJwkThumbprint(spki);
}
