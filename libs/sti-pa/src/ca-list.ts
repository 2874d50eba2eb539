import {
  es256Verify,
  isShakenError,
  parseCertificate,
  parseCertificateChain,
  parseCompactJws,
  verifyCertificateChain,
  type ParsedCompactJws,
  type X509Certificate,
} from '@app/shaken';
import { StiPaError, StiPaErrorCode } from './errors.js';

/** The STI-PA's list of approved STI-CAs, after verification. */
export interface CaList {
  version: number | string;
  /** Increases whenever the STI-PA changes the list. */
  sequence: number;
  /** The list must not be used after this (refetch; real clients refresh every 24 h). */
  expiresAt: Date;
  /** Approved STI-CA root certificates, PEM, as listed. */
  trustListPem: string[];
  /** The same roots, parsed: the trust anchors for checking provider certificates. */
  trustAnchors: X509Certificate[];
  /** The certificate that signed the list (from its x5u), already chained to the pinned root. */
  signer: X509Certificate;
}

export interface CaListVerification {
  /** PEM of the pinned STI-PA root certificate(s). */
  rootsPem: readonly string[];
  now: Date;
  /** Fetches the PEM chain at the JWS header's x5u. */
  fetchCertificates: (url: string) => Promise<string>;
}

function invalid(message: string, cause?: unknown): StiPaError {
  return new StiPaError(StiPaErrorCode.CA_LIST_INVALID, `STI-PA CA list rejected: ${message}`, cause === undefined ? {} : { cause });
}

function parseJws(jws: string): ParsedCompactJws {
  try {
    return parseCompactJws(jws);
  } catch (error) {
    if (isShakenError(error)) throw invalid(error.message, error);
    throw error;
  }
}

function parseRoots(rootsPem: readonly string[]): X509Certificate[] {
  try {
    return rootsPem.flatMap((pem) => parseCertificateChain(pem));
  } catch (error) {
    if (isShakenError(error)) {
      throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, `the pinned STI-PA root is not a PEM certificate: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Verifies the CA list JWS the way SPC tokens are verified (ATIS-1000080 v005 §6.3.5): ES256 only,
 * the certificate at `x5u` must chain to the pinned STI-PA root and its key must verify the
 * signature, and `exp` must be in the future. Then reads {version, sequence, exp, trustList}.
 * Every failure is `STI_PA.CA_LIST_INVALID`, except outages while fetching x5u.
 */
export async function verifyCaList(jws: string, options: CaListVerification): Promise<CaList> {
  const parsed = parseJws(jws);
  const { header, payload } = parsed;
  // RFC 7515 §10.7: the algorithm is fixed by us, never taken from the token.
  if (header.alg !== 'ES256') throw invalid(`alg ${JSON.stringify(header.alg)} is not ES256`);
  if (typeof header.x5u !== 'string' || !URL.canParse(header.x5u) || new URL(header.x5u).protocol !== 'https:') {
    throw invalid('the JWS header has no https x5u');
  }
  const trustAnchors = parseRoots(options.rootsPem);
  const chainPem = await options.fetchCertificates(header.x5u);
  let signer: X509Certificate;
  let intermediates: X509Certificate[];
  try {
    [signer, ...intermediates] = parseCertificateChain(chainPem) as [X509Certificate, ...X509Certificate[]];
  } catch (error) {
    if (isShakenError(error)) throw invalid(`x5u does not hold certificates: ${error.message}`, error);
    throw error;
  }
  try {
    await verifyCertificateChain(signer, { trustAnchors, intermediates, at: options.now });
  } catch (error) {
    if (isShakenError(error)) throw invalid(`the signing certificate does not chain to the pinned STI-PA root: ${error.message}`, error);
    throw error;
  }
  if (!(await es256Verify(new Uint8Array(signer.publicKey.rawData), parsed.signingInput, parsed.signature))) {
    throw invalid('the signature does not verify with the x5u certificate');
  }
  const { version, sequence, exp, trustList } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('exp is missing');
  const expiresAt = new Date(exp * 1000);
  if (options.now.getTime() >= expiresAt.getTime()) throw invalid(`the list expired at ${expiresAt.toISOString()}`);
  if (typeof sequence !== 'number' || !Number.isInteger(sequence)) throw invalid('sequence is not an integer');
  if (typeof version !== 'number' && typeof version !== 'string') throw invalid('version is missing');
  if (!Array.isArray(trustList) || trustList.some((entry) => typeof entry !== 'string')) throw invalid('trustList is not a list of PEM certificates');
  const trustListPem = trustList as string[];
  let anchors: X509Certificate[];
  try {
    anchors = trustListPem.map((pem) => parseCertificate(pem));
  } catch (error) {
    if (isShakenError(error)) throw invalid(`trustList holds something that is not a certificate: ${error.message}`, error);
    throw error;
  }
  return { version, sequence, expiresAt, trustListPem, trustAnchors: anchors, signer };
}
