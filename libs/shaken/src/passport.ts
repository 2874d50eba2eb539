import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { X509Certificate, X509Crl } from '@peculiar/x509';
import { parseCertificate, parseCertificateChain } from './certificate.js';
import { checkNotRevoked, verifyCertificateChain, verifyCrl } from './certificate-checks.js';
import { toBytes } from './encoding.js';
import { ShakenError, isShakenError } from './errors.js';
import { type JsonObject, type ParsedCompactJws, type SigningKey, es256Verify, parseCompactJws, signCompactJws } from './jws.js';
import { readTnAuthList } from './tn-auth-list.js';

/** RFC 8588 §4: full, partial, gateway attestation. */
export type Attestation = 'A' | 'B' | 'C';

export interface PassportHeader {
  alg: 'ES256';
  ppt: 'shaken';
  typ: 'passport';
  x5u: string;
}

export interface PassportClaims {
  attest: Attestation;
  dest: { tn: string[] };
  iat: number;
  orig: { tn: string };
  origid: string;
}

export interface CreatePassportParams {
  attest: Attestation;
  /** Calling number, canonical digits (RFC 8224 §8.3). */
  orig: string;
  /** Called number(s). */
  dest: string | readonly string[];
  /** RFC 8588 §5: a UUID identifying the origination point; random by default. */
  origid?: string;
  /** Signing time; now by default. */
  iat?: Date | number;
  x5u: string;
}

export interface PassportVerification {
  /** Loads the PEM chain (leaf first) or DER certificate at x5u. */
  fetchChain: (x5u: string) => Promise<string | Uint8Array>;
  trustAnchors: readonly X509Certificate[];
  /** The STI-PA CRL and the certificate that signed it. */
  crl?: { crl: X509Crl; issuer: X509Certificate };
  now: Date;
  /** How far iat may be from now (ATIS-1000074 verifiers use 15 to 60 s). Default 60. */
  maxAgeSeconds?: number;
}

export interface VerifiedPassport {
  header: PassportHeader;
  claims: PassportClaims;
  signer: X509Certificate;
  path: X509Certificate[];
  /** The SPC at the head of the signer's TNAuthList. */
  spc: string;
}

export interface IdentityHeader {
  /** The PASSporT (full form). */
  jws: string;
  /** The `info` URI without its angle brackets. */
  info: string;
  alg: string | undefined;
  ppt: string | undefined;
  /** Every parameter, names lowercased. */
  parameters: Record<string, string>;
}

// RFC 8224 §8.3: the canonical form of a telephone number is its digits.
const CANONICAL_TN = /^[0-9]{1,15}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function malformed(message: string, cause?: unknown): ShakenError {
  return new ShakenError('PASSPORT.MALFORMED', message, cause === undefined ? undefined : { cause });
}

function invalid(message: string): ShakenError {
  return new ShakenError('PASSPORT.INVALID_CLAIMS', message);
}

function assertTn(tn: unknown, what: string): asserts tn is string {
  if (typeof tn !== 'string' || !CANONICAL_TN.test(tn)) {
    throw invalid(`${what} ${JSON.stringify(tn)} is not a canonical telephone number (1 to 15 digits, RFC 8224 §8.3)`);
  }
}

function assertX5u(x5u: unknown): asserts x5u is string {
  if (typeof x5u !== 'string') throw malformed('PASSporT header has no x5u');
  let url: URL;
  try {
    url = new URL(x5u);
  } catch (cause) {
    throw malformed('PASSporT x5u is not a URL', cause);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw malformed('PASSporT x5u is not an http(s) URL');
}

function assertAttest(attest: unknown): asserts attest is Attestation {
  if (attest !== 'A' && attest !== 'B' && attest !== 'C') throw invalid(`attest ${JSON.stringify(attest)} is not A, B or C (RFC 8588 §4)`);
}

function assertOrigid(origid: unknown): asserts origid is string {
  if (typeof origid !== 'string' || !UUID.test(origid)) throw invalid('origid is not a UUID (RFC 8588 §5)');
}

/**
 * Signs a SHAKEN PASSporT (RFC 8225, RFC 8588): header {alg ES256, ppt shaken, typ passport, x5u},
 * claims attest, dest, iat, orig, origid, all in canonical JSON (RFC 8225 §9).
 */
export async function createPassport(params: CreatePassportParams, privateKey: SigningKey): Promise<string> {
  assertAttest(params.attest);
  assertTn(params.orig, 'orig');
  const dest = typeof params.dest === 'string' ? [params.dest] : [...params.dest];
  if (dest.length === 0) throw invalid('dest needs at least one telephone number');
  dest.forEach((tn) => assertTn(tn, 'dest'));
  const origid = params.origid ?? randomUUID();
  assertOrigid(origid);
  assertX5u(params.x5u);
  const iat = params.iat === undefined ? Math.floor(Date.now() / 1000) : params.iat instanceof Date ? Math.floor(params.iat.getTime() / 1000) : params.iat;
  if (!Number.isSafeInteger(iat)) throw invalid('iat must be a whole number of seconds');
  const claims: PassportClaims = { attest: params.attest, dest: { tn: dest }, iat, orig: { tn: params.orig }, origid };
  return signCompactJws({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: params.x5u }, claims as unknown as JsonObject, privateKey);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes a PASSporT without trusting it: the header and claims checks of verifyPassport. */
export function parsePassport(token: string): { header: PassportHeader; claims: PassportClaims; jws: ParsedCompactJws } {
  let jws: ParsedCompactJws;
  try {
    jws = parseCompactJws(token);
  } catch (cause) {
    throw malformed(`PASSporT is not a compact JWS: ${(cause as Error).message}`, cause);
  }
  const { header, payload } = jws;
  if (header.alg !== 'ES256') {
    throw new ShakenError('PASSPORT.UNSUPPORTED_ALG', `PASSporT alg ${JSON.stringify(header.alg)} is not ES256 (RFC 8588 §3)`);
  }
  if (header.typ !== 'passport' || header.ppt !== 'shaken') {
    throw new ShakenError('PASSPORT.UNSUPPORTED_PPT', 'PASSporT header is not typ "passport" with ppt "shaken"');
  }
  assertX5u(header.x5u);
  const { attest, dest, iat, orig, origid } = payload;
  if (!isObject(orig) || !isObject(dest) || !Array.isArray(dest.tn) || typeof iat !== 'number') {
    throw malformed('PASSporT claims need orig.tn, dest.tn (array) and a numeric iat');
  }
  assertAttest(attest);
  assertTn(orig.tn, 'orig');
  if (dest.tn.length === 0) throw invalid('dest.tn is empty');
  dest.tn.forEach((tn) => assertTn(tn, 'dest'));
  if (!Number.isSafeInteger(iat)) throw invalid('iat is not a whole number of seconds');
  assertOrigid(origid);
  return {
    header: { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: header.x5u },
    claims: { attest, dest: { tn: dest.tn as string[] }, iat, orig: { tn: orig.tn }, origid },
    jws,
  };
}

async function fetchSignerChain(x5u: string, fetchChain: PassportVerification['fetchChain']): Promise<X509Certificate[]> {
  let body: string | Uint8Array;
  try {
    body = await fetchChain(x5u);
  } catch (cause) {
    throw new ShakenError('PASSPORT.X5U_FETCH_FAILED', `could not fetch the certificate at ${x5u}`, { cause });
  }
  try {
    if (typeof body !== 'string' && toBytes(body)[0] === 0x30) return [parseCertificate(body)];
    return parseCertificateChain(body);
  } catch (cause) {
    throw new ShakenError('PASSPORT.X5U_FETCH_FAILED', `the body at ${x5u} is not a certificate chain`, { cause });
  }
}

/**
 * Verifies a SHAKEN PASSporT as an STI-VS does (ATIS-1000074 §5.3.2, RFC 8224 §6.2): header and
 * claims, iat within `maxAgeSeconds` of now (`PASSPORT.STALE`), the certificate at x5u
 * (`PASSPORT.X5U_FETCH_FAILED`), the ES256 signature (`PASSPORT.BAD_SIGNATURE`), the certificate
 * valid at iat (`PASSPORT.CERT_NOT_VALID_AT_IAT`), its chain to an approved root
 * (`PASSPORT.UNTRUSTED_CHAIN`), the CRL (`PASSPORT.REVOKED`; `CRL.*` for a bad CRL), and that the
 * TNAuthList's first entry is an SPC (`PASSPORT.NO_SPC`).
 */
export async function verifyPassport(token: string, options: PassportVerification): Promise<VerifiedPassport> {
  const { header, claims, jws } = parsePassport(token);
  const maxAge = options.maxAgeSeconds ?? 60;
  const age = options.now.getTime() / 1000 - claims.iat;
  if (Math.abs(age) > maxAge) {
    throw new ShakenError(
      'PASSPORT.STALE',
      age > 0 ? `iat is ${Math.round(age)} s old (at most ${maxAge})` : `iat is ${Math.round(-age)} s in the future (at most ${maxAge})`,
    );
  }
  const [signer, ...intermediates] = await fetchSignerChain(header.x5u, options.fetchChain);
  if (signer === undefined) throw new ShakenError('PASSPORT.X5U_FETCH_FAILED', 'x5u holds no certificate');

  let signatureValid = false;
  try {
    signatureValid = await es256Verify(new Uint8Array(signer.publicKey.rawData), jws.signingInput, jws.signature);
  } catch (cause) {
    if (!isShakenError(cause)) throw cause;
  }
  if (!signatureValid) throw new ShakenError('PASSPORT.BAD_SIGNATURE', 'the PASSporT signature does not verify with the x5u certificate');

  const signedAt = new Date(claims.iat * 1000);
  if (signedAt < signer.notBefore || signedAt > signer.notAfter) {
    throw new ShakenError('PASSPORT.CERT_NOT_VALID_AT_IAT', `the signing certificate was not valid at iat ${signedAt.toISOString()}`);
  }
  let path: X509Certificate[];
  try {
    path = await verifyCertificateChain(signer, { trustAnchors: options.trustAnchors, intermediates, at: signedAt });
  } catch (cause) {
    if (!isShakenError(cause)) throw cause;
    throw new ShakenError('PASSPORT.UNTRUSTED_CHAIN', `the signing certificate is not trusted: ${cause.message}`, { cause });
  }
  if (options.crl !== undefined) {
    await verifyCrl(options.crl.crl, options.crl.issuer, options.now);
    try {
      checkNotRevoked(path, options.crl.crl);
    } catch (cause) {
      if (!isShakenError(cause, 'CERT.REVOKED')) throw cause;
      throw new ShakenError('PASSPORT.REVOKED', cause.message, { cause });
    }
  }
  let first;
  try {
    first = readTnAuthList(signer)?.[0];
  } catch (cause) {
    throw new ShakenError('PASSPORT.NO_SPC', `the signing certificate's TNAuthList is invalid: ${(cause as Error).message}`, { cause });
  }
  if (first?.kind !== 'spc') {
    throw new ShakenError('PASSPORT.NO_SPC', "the signing certificate's TNAuthList does not start with an SPC");
  }
  return { header, claims, signer, path, spc: first.spc };
}

/** RFC 8224 §4.1 / RFC 8588 §6: the SIP Identity header value for a PASSporT. */
export function identityHeader(jws: string, x5u: string): string {
  assertX5u(x5u);
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/.test(jws)) throw malformed('not a compact JWS');
  return `${jws};info=<${x5u}>;alg=ES256;ppt=shaken`;
}

/**
 * Splits an Identity header value into the PASSporT and its parameters (RFC 8224 §4.1:
 * `Identity: <jws>;info=<uri>;alg=ES256;ppt=shaken`). Throws `PASSPORT.MALFORMED_IDENTITY`.
 */
export function parseIdentityHeader(value: string): IdentityHeader {
  if (typeof value !== 'string' || value.length > 16_384) throw new ShakenError('PASSPORT.MALFORMED_IDENTITY', 'Identity header is missing or too long');
  const [jwsPart, ...rest] = value.split(';');
  const jws = (jwsPart ?? '').trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/.test(jws)) {
    throw new ShakenError('PASSPORT.MALFORMED_IDENTITY', 'Identity header does not start with a compact JWS');
  }
  const parameters: Record<string, string> = {};
  for (const parameter of rest) {
    const match = /^\s*([A-Za-z0-9._~-]+)\s*=\s*(<[^<>\s]*>|[^\s;<>]+)\s*$/.exec(parameter);
    if (match === null) throw new ShakenError('PASSPORT.MALFORMED_IDENTITY', 'Identity header has a malformed parameter');
    const name = (match[1] as string).toLowerCase();
    if (name in parameters) throw new ShakenError('PASSPORT.MALFORMED_IDENTITY', `Identity header repeats parameter ${name}`);
    parameters[name] = match[2] as string;
  }
  const info = parameters.info;
  if (info === undefined || !info.startsWith('<') || !info.endsWith('>') || info.length < 3) {
    throw new ShakenError('PASSPORT.MALFORMED_IDENTITY', 'Identity header needs info=<URI>');
  }
  return { jws, info: info.slice(1, -1), alg: parameters.alg, ppt: parameters.ppt, parameters };
}
