import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { X509Certificate, X509Crl } from '@peculiar/x509';
import { type BinaryInput, looksLikePem, pemDecodeAll, pemEncode, toBytes } from './encoding.js';
import { ShakenError, isShakenError } from './errors.js';

export { X509Certificate, X509Crl };

// An STI-CR body must stay under 8 KB (ATIS-1000074 practice); a CA list carries a few dozen
// roots. Anything near this limit is not a certificate.
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const MAX_CHAIN_LENGTH = 16;

function derFrom(input: string | BinaryInput, label: string, code: string): Uint8Array[] {
  if (typeof input !== 'string') return [toBytes(input)];
  if (!looksLikePem(input)) throw new ShakenError(code, `${label} text is not PEM`);
  const blocks = pemDecodeAll(input);
  if (blocks === undefined) throw new ShakenError(code, `a ${label} PEM block has an invalid base64 body`);
  const other = blocks.find((block) => block.label !== label);
  if (other !== undefined) throw new ShakenError(code, `unexpected PEM block ${other.label} where ${label} was expected`);
  return blocks.map((block) => block.der);
}

// Verifiers see the same few x5u chains over and over (STIR-SHAKEN.md §10: 93% of URLs on five
// repositories); parsing with asn1js costs about a millisecond per certificate, so parsed
// certificates are kept by their DER, oldest dropped first. Treat returned objects as read-only.
const PARSED_CACHE_LIMIT = 512;
const parsed = new Map<string, X509Certificate>();

function readCertificate(der: Uint8Array): X509Certificate {
  if (der.byteLength === 0 || der.byteLength > MAX_CERTIFICATE_BYTES) {
    throw new ShakenError('CERT.MALFORMED', `certificate is ${der.byteLength} bytes`);
  }
  const key = Buffer.from(der).toString('base64');
  const cached = parsed.get(key);
  if (cached !== undefined) return cached;
  const certificate = decodeCertificate(der);
  if (parsed.size >= PARSED_CACHE_LIMIT) parsed.delete(parsed.keys().next().value as string);
  parsed.set(key, certificate);
  return certificate;
}

function decodeCertificate(der: Uint8Array): X509Certificate {
  try {
    const certificate = new X509Certificate(der);
    // @peculiar/x509 decodes fields lazily; touching them here turns a broken certificate into
    // one clear error now instead of a TypeError deep inside a later check.
    void certificate.subject;
    void certificate.issuer;
    void certificate.notBefore;
    void certificate.notAfter;
    void certificate.serialNumber;
    void certificate.publicKey.rawData;
    void certificate.extensions;
    return certificate;
  } catch (cause) {
    if (isShakenError(cause)) throw cause;
    throw new ShakenError('CERT.MALFORMED', 'bytes are not a DER X.509 certificate', { cause });
  }
}

/** One certificate from DER bytes or a PEM text holding exactly one CERTIFICATE block. */
export function parseCertificate(input: string | BinaryInput): X509Certificate {
  const ders = derFrom(input, 'CERTIFICATE', 'CERT.MALFORMED');
  if (ders.length !== 1) throw new ShakenError('CERT.MALFORMED', `expected one certificate, found ${ders.length}`);
  return readCertificate(ders[0] as Uint8Array);
}

/**
 * An `application/pem-certificate-chain` body (RFC 8555 §9.1): leaf first, then the intermediates.
 * Throws `CERT.MALFORMED` for anything else in the text or a broken certificate, `CERT.EMPTY_CHAIN`
 * when there is no certificate at all.
 */
export function parseCertificateChain(input: string | BinaryInput): X509Certificate[] {
  const text = typeof input === 'string' ? input : Buffer.from(toBytes(input)).toString('latin1');
  if (!looksLikePem(text)) throw new ShakenError('CERT.EMPTY_CHAIN', 'no PEM certificate in the chain');
  const ders = derFrom(text, 'CERTIFICATE', 'CERT.MALFORMED');
  if (ders.length === 0) throw new ShakenError('CERT.EMPTY_CHAIN', 'no PEM certificate in the chain');
  if (ders.length > MAX_CHAIN_LENGTH) {
    throw new ShakenError('CERT.MALFORMED', `chain holds ${ders.length} certificates (at most ${MAX_CHAIN_LENGTH})`);
  }
  return ders.map(readCertificate);
}

/** PEM of the chain, leaf first, as STI-CR serves it. */
export function certificateChainToPem(certificates: readonly X509Certificate[]): string {
  return certificates.map((certificate) => pemEncode(certificate.rawData, 'CERTIFICATE')).join('');
}

export function certificateToPem(certificate: X509Certificate): string {
  return pemEncode(certificate.rawData, 'CERTIFICATE');
}

/** RFC 7468 §5 label. */
export function crlToPem(crl: X509Crl): string {
  return pemEncode(crl.rawData, 'X509 CRL');
}

/** A CRL from DER bytes or PEM (`X509 CRL`; the nonstandard `CRL` label too). Throws `CRL.MALFORMED`. */
export function parseCrl(input: string | BinaryInput): X509Crl {
  const text = typeof input === 'string' ? input.replace(/-----(BEGIN|END) CRL-----/g, '-----$1 X509 CRL-----') : input;
  const ders = derFrom(text, 'X509 CRL', 'CRL.MALFORMED');
  if (ders.length !== 1) throw new ShakenError('CRL.MALFORMED', `expected one CRL, found ${ders.length}`);
  const der = ders[0] as Uint8Array;
  if (der.byteLength === 0) throw new ShakenError('CRL.MALFORMED', 'CRL is empty');
  try {
    const crl = new X509Crl(der);
    void crl.issuer;
    void crl.thisUpdate;
    void crl.nextUpdate;
    void crl.entries;
    void crl.extensions;
    return crl;
  } catch (cause) {
    throw new ShakenError('CRL.MALFORMED', 'bytes are not a DER X.509 CRL', { cause });
  }
}

/**
 * RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents. What the
 * Subject and Authority Key Identifiers of SHAKEN certificates carry (ATIS-1000080 v005 §6.4.1).
 */
export function keyIdentifier(spki: BinaryInput): Uint8Array {
  const info = AsnConvert.parse(toBytes(spki), SubjectPublicKeyInfo);
  return new Uint8Array(createHash('sha1').update(new Uint8Array(info.subjectPublicKey)).digest());
}

/** Lowercase hex serial without leading zero octets, as @peculiar/x509 and CRL entries print it. */
export function serialHex(certificate: X509Certificate): string {
  return certificate.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '');
}
