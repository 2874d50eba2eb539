import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { X509Certificate } from '@peculiar/x509';
import { parseCertificate, parseCertificateChain } from './certificate.js';
import { verifyCertificateChain } from './certificate-checks.js';
import { type BinaryInput, base64Encode, bytesEqual, toBytes } from './encoding.js';
import { ShakenError, isShakenError } from './errors.js';
import { type JsonObject, type ParsedCompactJws, type SigningKey, es256Verify, parseCompactJws, signCompactJws } from './jws.js';
import { type TnAuthEntry, decodeAcmeIdentifierValue, decodeTnAuthList, encodeTnAuthList } from './tn-auth-list.js';

/** The `atc` claim of RFC 9447 §3 as the STI-PA issues it (ATIS-1000080 v005 §5.3.1). */
export interface Atc {
  tktype: 'TNAuthList';
  /** Standard base64 of the DER TNAuthList. */
  tkvalue: string;
  ca: boolean;
  /** `SHA256 AA:BB:…` over the ACME account key's SPKI (or, for some CAs, an RFC 7638 thumbprint). */
  fingerprint: string;
}

export interface SpcTokenHeader {
  alg: 'ES256';
  typ: 'JWT';
  x5u: string;
}

export interface SpcTokenClaims {
  exp: number;
  jti: string;
  atc: Atc;
}

export interface ParsedSpcToken {
  header: SpcTokenHeader;
  claims: SpcTokenClaims;
  /** The TNAuthList the token authorizes, decoded from `atc.tkvalue`. */
  tnAuthList: TnAuthEntry[];
  expiresAt: Date;
  jws: ParsedCompactJws;
}

export interface SpcTokenExpectations {
  /** The order's TNAuthList: entries, DER, or an encoded `tkvalue` (either base64 form). */
  tkvalue?: readonly TnAuthEntry[] | BinaryInput | string;
  fingerprint?: string;
  ca?: boolean;
}

export interface SpcTokenVerification {
  /** Loads the STI-PA signing certificate (PEM chain or DER) from the header's x5u. */
  fetchCertificate: (x5u: string) => Promise<Uint8Array | string>;
  /** The pinned STI-PA root(s). */
  trustAnchors: readonly X509Certificate[];
  intermediates?: readonly X509Certificate[];
  expected: SpcTokenExpectations;
  now: Date;
}

export interface VerifiedSpcToken extends ParsedSpcToken {
  /** The certificate whose key signed the token, and its path to the trust anchor. */
  signer: X509Certificate;
  path: X509Certificate[];
}

export interface SpcTokenSigningParams {
  atc: Omit<Atc, 'tktype'> & { tktype?: 'TNAuthList' };
  x5u: string;
  /** Expiry as a Date or as seconds since the epoch. */
  exp: Date | number;
  jti?: string;
}

const FINGERPRINT = /^SHA(?:1|256|384|512) [0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+$/;
const JWK_THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

function malformed(message: string, cause?: unknown): ShakenError {
  return new ShakenError('SPC_TOKEN.MALFORMED', message, cause === undefined ? undefined : { cause });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function assertHttpUrl(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw malformed('SPC token header has no x5u');
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw malformed('SPC token x5u is not a URL', cause);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw malformed('SPC token x5u is not an http(s) URL');
}

/** The `atc.tkvalue` form the STI-PA uses: padded standard base64 of the DER TNAuthList. */
export function createAtc(tnAuthList: readonly TnAuthEntry[] | BinaryInput, fingerprint: string, ca = false): Atc {
  const der = Array.isArray(tnAuthList) ? encodeTnAuthList(tnAuthList as readonly TnAuthEntry[]) : toBytes(tnAuthList as BinaryInput);
  decodeTnAuthList(der);
  return { tktype: 'TNAuthList', tkvalue: base64Encode(der), ca, fingerprint };
}

/**
 * Decodes an SPC token without trusting it. Header: alg ES256 (`SPC_TOKEN.UNSUPPORTED_ALG`
 * otherwise), typ JWT, an http(s) x5u. Payload: integer exp, non-empty jti and an atc with tktype
 * TNAuthList, a decodable tkvalue, boolean ca and a fingerprint. Real STI-PA tokens carry no iat
 * and no iss, so neither is required. Every other problem is `SPC_TOKEN.MALFORMED`.
 */
export function parseSpcToken(token: string): ParsedSpcToken {
  let jws: ParsedCompactJws;
  try {
    jws = parseCompactJws(token);
  } catch (cause) {
    throw malformed(`SPC token is not a compact JWS: ${(cause as Error).message}`, cause);
  }
  const { header, payload } = jws;
  if (header.alg !== 'ES256') {
    throw new ShakenError('SPC_TOKEN.UNSUPPORTED_ALG', `SPC token alg ${JSON.stringify(header.alg)} is not ES256`);
  }
  if (header.typ !== 'JWT') throw malformed(`SPC token typ ${JSON.stringify(header.typ)} is not "JWT"`);
  assertHttpUrl(header.x5u);
  if (typeof payload.exp !== 'number' || !Number.isSafeInteger(payload.exp)) throw malformed('SPC token exp is not an integer');
  if (typeof payload.jti !== 'string' || payload.jti.length === 0) throw malformed('SPC token jti is missing');
  const atc = payload.atc;
  if (!isObject(atc)) throw malformed('SPC token has no atc claim');
  if (atc.tktype !== 'TNAuthList') throw malformed(`atc.tktype ${JSON.stringify(atc.tktype)} is not "TNAuthList"`);
  if (typeof atc.tkvalue !== 'string') throw malformed('atc.tkvalue is not a string');
  if (typeof atc.ca !== 'boolean') throw malformed('atc.ca is not a boolean');
  if (typeof atc.fingerprint !== 'string' || !(FINGERPRINT.test(atc.fingerprint) || JWK_THUMBPRINT.test(atc.fingerprint))) {
    throw malformed('atc.fingerprint is neither "SHA256 AA:BB:…" nor an RFC 7638 thumbprint');
  }
  let tnAuthList: TnAuthEntry[];
  try {
    tnAuthList = decodeTnAuthList(decodeAcmeIdentifierValue(atc.tkvalue));
  } catch (cause) {
    throw malformed(`atc.tkvalue is not a TNAuthList: ${(cause as Error).message}`, cause);
  }
  return {
    header: { alg: 'ES256', typ: 'JWT', x5u: header.x5u },
    claims: {
      exp: payload.exp,
      jti: payload.jti,
      atc: { tktype: 'TNAuthList', tkvalue: atc.tkvalue, ca: atc.ca, fingerprint: atc.fingerprint },
    },
    tnAuthList,
    expiresAt: new Date(payload.exp * 1000),
    jws,
  };
}

function expectedTnAuthListDer(expected: readonly TnAuthEntry[] | BinaryInput | string): Uint8Array {
  if (typeof expected === 'string') return decodeAcmeIdentifierValue(expected);
  if (Array.isArray(expected)) return encodeTnAuthList(expected as readonly TnAuthEntry[]);
  return toBytes(expected as BinaryInput);
}

function sameFingerprint(a: string, b: string): boolean {
  // The hex form is case-insensitive; a JWK thumbprint is base64url and compared exactly.
  return FINGERPRINT.test(a) && FINGERPRINT.test(b) ? a.toUpperCase() === b.toUpperCase() : a === b;
}

async function fetchSigner(x5u: string, fetchCertificate: SpcTokenVerification['fetchCertificate']): Promise<X509Certificate[]> {
  let body: Uint8Array | string;
  try {
    body = await fetchCertificate(x5u);
  } catch (cause) {
    throw new ShakenError('SPC_TOKEN.X5U_FETCH_FAILED', `could not fetch the STI-PA certificate at ${x5u}`, { cause });
  }
  try {
    // DER when it starts with a SEQUENCE tag, otherwise a PEM chain (leaf first).
    if (typeof body !== 'string' && toBytes(body)[0] === 0x30) return [parseCertificate(body)];
    return parseCertificateChain(body);
  } catch (cause) {
    throw new ShakenError('SPC_TOKEN.X5U_FETCH_FAILED', `the body at ${x5u} is not a certificate`, { cause });
  }
}

/**
 * Verifies an SPC token the way an STI-CA must (ATIS-1000080 v005 §6.3.5, RFC 9447 §4): fetch
 * the certificate at x5u, check the ES256 signature with it (`SPC_TOKEN.BAD_SIGNATURE`), check
 * that it chains to the pinned STI-PA root at `now` (`SPC_TOKEN.UNTRUSTED_ISSUER`), then `exp`
 * (`SPC_TOKEN.EXPIRED`) and the expected claims (`SPC_TOKEN.TKVALUE_MISMATCH`,
 * `SPC_TOKEN.FINGERPRINT_MISMATCH`, `SPC_TOKEN.CA_MISMATCH`). Authenticity comes first so that a
 * forged token is reported as forged, not as a claim mismatch.
 */
export async function verifySpcToken(token: string, options: SpcTokenVerification): Promise<VerifiedSpcToken> {
  const parsed = parseSpcToken(token);
  const [signer, ...chain] = await fetchSigner(parsed.header.x5u, options.fetchCertificate);
  if (signer === undefined) throw new ShakenError('SPC_TOKEN.X5U_FETCH_FAILED', 'the x5u body holds no certificate');

  let signatureValid = false;
  try {
    signatureValid = await es256Verify(new Uint8Array(signer.publicKey.rawData), parsed.jws.signingInput, parsed.jws.signature);
  } catch (cause) {
    if (!isShakenError(cause)) throw cause;
  }
  if (!signatureValid) {
    throw new ShakenError('SPC_TOKEN.BAD_SIGNATURE', 'the SPC token signature does not verify with the x5u certificate');
  }
  let path: X509Certificate[];
  try {
    path = await verifyCertificateChain(signer, {
      trustAnchors: options.trustAnchors,
      intermediates: [...chain, ...(options.intermediates ?? [])],
      at: options.now,
    });
  } catch (cause) {
    if (!isShakenError(cause)) throw cause;
    throw new ShakenError('SPC_TOKEN.UNTRUSTED_ISSUER', `the SPC token signer is not trusted: ${cause.message}`, { cause });
  }
  // RFC 7519 §4.1.4: reject on or after exp.
  if (options.now.getTime() >= parsed.expiresAt.getTime()) {
    throw new ShakenError('SPC_TOKEN.EXPIRED', `the SPC token expired at ${parsed.expiresAt.toISOString()}`);
  }
  const { expected } = options;
  if (expected.tkvalue !== undefined) {
    if (!bytesEqual(encodeTnAuthList(parsed.tnAuthList), expectedTnAuthListDer(expected.tkvalue))) {
      throw new ShakenError('SPC_TOKEN.TKVALUE_MISMATCH', 'the SPC token authorizes a different TNAuthList than the order');
    }
  }
  if (expected.fingerprint !== undefined && !sameFingerprint(parsed.claims.atc.fingerprint, expected.fingerprint)) {
    throw new ShakenError('SPC_TOKEN.FINGERPRINT_MISMATCH', 'the SPC token is bound to a different ACME account key');
  }
  if (expected.ca !== undefined && parsed.claims.atc.ca !== expected.ca) {
    throw new ShakenError('SPC_TOKEN.CA_MISMATCH', `the SPC token has atc.ca ${parsed.claims.atc.ca}, expected ${expected.ca}`);
  }
  return { ...parsed, signer, path };
}

/** Signs an SPC token as the STI-PA does (for the sandbox STI-PA and for tests). */
export async function signSpcToken(params: SpcTokenSigningParams, key: SigningKey): Promise<string> {
  const exp = params.exp instanceof Date ? Math.floor(params.exp.getTime() / 1000) : params.exp;
  if (!Number.isSafeInteger(exp)) throw new ShakenError('SPC_TOKEN.MALFORMED', 'exp must be a whole number of seconds');
  assertHttpUrl(params.x5u);
  const atc = createAtc(decodeAcmeIdentifierValue(params.atc.tkvalue), params.atc.fingerprint, params.atc.ca);
  return signCompactJws(
    { alg: 'ES256', typ: 'JWT', x5u: params.x5u },
    { exp, jti: params.jti ?? randomUUID(), atc: { ...atc, tkvalue: params.atc.tkvalue } },
    key,
  );
}
