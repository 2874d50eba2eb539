import 'reflect-metadata';
import type { webcrypto } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { id_ecdsaWithSHA256 } from '@peculiar/asn1-ecc';
import { AsnConvert } from '@peculiar/asn1-schema';
import { id_ce_basicConstraints } from '@peculiar/asn1-x509';
import {
  BasicConstraintsExtension,
  type Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  Pkcs10CertificateRequest,
  Pkcs10CertificateRequestGenerator,
} from '@peculiar/x509';
import { type BinaryInput, bytesEqual, looksLikePem, pemDecodeAll, pemEncode, toArrayBuffer, toBytes } from './encoding.js';
import { ShakenError, isShakenError } from './errors.js';
import { type CryptoKey, type CryptoKeyPair, importSpki } from './keys.js';
import { TnAuthListExtension, type TnAuthEntry, assertValidSpc, encodeTnAuthList, readTnAuthList, singleSpc } from './tn-auth-list.js';
import {
  ATTRIBUTE_OID,
  type CrlDistributionPoint,
  type ShakenSubject,
  crlDistributionPointExtension,
  readCrlDistributionPoint,
  readSubject,
} from './x509-names.js';

export interface ShakenCsrParams {
  keys: CryptoKeyPair;
  /** The provider's legal name: ATIS-1000080 v005 §6.4.1 puts it in O. */
  legalName: string;
  spc: string;
  /** From the SPC token response: the STI-PA CRL URL and its issuer DN. */
  crlDistributionPoint?: CrlDistributionPoint;
  /** A CA certificate request (ordered with an `atc.ca: true` token) for a delegate-issuing CA. */
  ca?: boolean;
  /** WebCrypto provider holding `keys`; Node's by default. */
  crypto?: webcrypto.Crypto;
}

export interface ShakenCsr {
  der: Uint8Array;
  pem: string;
}

export interface ParsedShakenCsr {
  der: Uint8Array;
  subject: ShakenSubject;
  tnAuthList: TnAuthEntry[];
  /** The SPC when the TNAuthList is exactly one SPC. */
  spc: string | undefined;
  /** Basic Constraints cA in the extension request. */
  ca: boolean;
  crlDistributionPoint: CrlDistributionPoint | undefined;
  publicKey: CryptoKey;
  publicKeySpki: Uint8Array;
  signatureValid: boolean;
}

export interface ShakenCsrExpectations {
  /** The order's TNAuthList (entries or DER). */
  tnAuthList: readonly TnAuthEntry[] | BinaryInput;
  ca?: boolean;
  /** Require CN = "SHAKEN <SPC>" (ATIS-1000080 v005 §6.4.1); a CA that writes its own subject skips this. */
  subjectCommonName?: boolean;
}

// X.520 ub-organization-name.
const MAX_LEGAL_NAME_LENGTH = 64;
const MAX_CSR_BYTES = 64 * 1024;

function assertLegalName(legalName: unknown): asserts legalName is string {
  if (typeof legalName !== 'string' || legalName.trim().length === 0) {
    throw new ShakenError('CSR.INVALID_LEGAL_NAME', 'legal name is empty');
  }
  if (legalName !== legalName.trim()) {
    throw new ShakenError('CSR.INVALID_LEGAL_NAME', 'legal name has leading or trailing spaces');
  }
  if (legalName.length > MAX_LEGAL_NAME_LENGTH) {
    throw new ShakenError('CSR.INVALID_LEGAL_NAME', `legal name is ${legalName.length} characters (X.520 allows ${MAX_LEGAL_NAME_LENGTH})`);
  }
  if (/[\u0000-\u001f\u007f]/.test(legalName)) {
    throw new ShakenError('CSR.INVALID_LEGAL_NAME', 'legal name contains control characters');
  }
}

function assertP256Pair(keys: CryptoKeyPair | undefined): void {
  const algorithm = keys?.privateKey?.algorithm as { name?: string; namedCurve?: string } | undefined;
  if (algorithm?.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256' || keys?.privateKey.type !== 'private') {
    throw new ShakenError('CSR.UNSUPPORTED_KEY', 'a SHAKEN CSR needs an ECDSA P-256 key pair');
  }
}

/** ATIS-1000080 v005 §6.4.1: subject C=US, O=<legal name>, CN="SHAKEN <SPC>". */
export function shakenSubjectName(legalName: string, spc: string, country = 'US'): Name {
  assertLegalName(legalName);
  assertValidSpc(spc);
  return new Name([
    { [ATTRIBUTE_OID.country]: [country] },
    { [ATTRIBUTE_OID.organization]: [legalName] },
    { [ATTRIBUTE_OID.commonName]: [`SHAKEN ${spc}`] },
  ]);
}

/**
 * The PKCS#10 request finalized in a SHAKEN ACME order (RFC 9448 §4, ATIS-1000080 v005 §6.3.3):
 * P-256 key, ecdsa-with-SHA256, extension request with the TNAuthList and, when given, the STI-PA
 * CRL distribution point. `ca: true` asks for a delegate-issuing CA: Basic Constraints CA:TRUE
 * (pathLen 0: it issues end-entity delegate certificates only, RFC 9060 §5) and Key Usage
 * keyCertSign.
 */
export async function buildShakenCsr(params: ShakenCsrParams): Promise<ShakenCsr> {
  assertP256Pair(params.keys);
  const name = shakenSubjectName(params.legalName, params.spc);
  const extensions: Extension[] = [new TnAuthListExtension([{ kind: 'spc', spc: params.spc }])];
  if (params.crlDistributionPoint !== undefined) {
    extensions.push(crlDistributionPointExtension(params.crlDistributionPoint, 'CSR.INVALID_CRL_DISTRIBUTION_POINT'));
  }
  if (params.ca === true) {
    extensions.push(new BasicConstraintsExtension(true, 0, true), new KeyUsagesExtension(KeyUsageFlags.keyCertSign, true));
  }
  let csr: Pkcs10CertificateRequest;
  try {
    csr = await Pkcs10CertificateRequestGenerator.create(
      { name, keys: params.keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions },
      params.crypto,
    );
  } catch (cause) {
    throw new ShakenError('CSR.SIGNING_FAILED', 'the key could not sign the certificate request', { cause });
  }
  const der = new Uint8Array(csr.rawData);
  return { der, pem: pemEncode(der, 'CERTIFICATE REQUEST') };
}

function csrBytes(input: string | BinaryInput): Uint8Array {
  if (typeof input === 'string') {
    if (!looksLikePem(input)) throw new ShakenError('CSR.MALFORMED', 'CSR text is not PEM');
    const blocks = pemDecodeAll(input)?.filter((block) => block.label === 'CERTIFICATE REQUEST' || block.label === 'NEW CERTIFICATE REQUEST');
    if (blocks?.length !== 1) throw new ShakenError('CSR.MALFORMED', 'expected exactly one CERTIFICATE REQUEST PEM block');
    return (blocks[0] as { der: Uint8Array }).der;
  }
  return toBytes(input);
}

/**
 * Reads a PKCS#10 request (DER bytes, or PEM text) as a SHAKEN CSR. Structural problems throw
 * (`CSR.MALFORMED`, `CSR.UNSUPPORTED_SIGNATURE_ALGORITHM`, `CSR.UNSUPPORTED_KEY`,
 * `CSR.MISSING_TN_AUTH_LIST`, `CSR.INVALID_CRL_DISTRIBUTION_POINT`, `TN_AUTH_LIST.*`); the
 * signature check is reported in `signatureValid` so that a CA can answer with its own error.
 */
export async function parseShakenCsr(input: string | BinaryInput): Promise<ParsedShakenCsr> {
  const der = csrBytes(input);
  if (der.byteLength === 0 || der.byteLength > MAX_CSR_BYTES) {
    throw new ShakenError('CSR.MALFORMED', `CSR is ${der.byteLength} bytes`);
  }
  try {
    return await readCsr(der);
  } catch (error) {
    if (isShakenError(error)) throw error;
    throw new ShakenError('CSR.MALFORMED', 'bytes are not a DER PKCS#10 certification request', { cause: error });
  }
}

async function readCsr(der: Uint8Array): Promise<ParsedShakenCsr> {
  const asn = AsnConvert.parse(toArrayBuffer(der), CertificationRequest);
  // DER only: trailing bytes or BER forms would let two byte strings claim the same request.
  if (!bytesEqual(AsnConvert.serialize(asn), der)) {
    throw new ShakenError('CSR.MALFORMED', 'CSR is not canonical DER (BER form or trailing bytes)');
  }
  // RFC 5758 §3.2: ecdsa-with-SHA256 with absent parameters.
  if (asn.signatureAlgorithm.algorithm !== id_ecdsaWithSHA256 || asn.signatureAlgorithm.parameters != null) {
    throw new ShakenError(
      'CSR.UNSUPPORTED_SIGNATURE_ALGORITHM',
      `CSR signature algorithm ${asn.signatureAlgorithm.algorithm} is not ecdsa-with-SHA256`,
    );
  }
  const csr = new Pkcs10CertificateRequest(asn);
  const publicKeySpki = new Uint8Array(AsnConvert.serialize(asn.certificationRequestInfo.subjectPKInfo));
  let publicKey: CryptoKey;
  try {
    publicKey = await importSpki(publicKeySpki);
  } catch (cause) {
    throw new ShakenError('CSR.UNSUPPORTED_KEY', `CSR public key: ${(cause as Error).message}`, { cause });
  }
  const tnAuthList = readTnAuthList(csr);
  if (tnAuthList === undefined) {
    throw new ShakenError('CSR.MISSING_TN_AUTH_LIST', 'CSR extension request has no TNAuthList (RFC 9448 §4)');
  }
  const basicConstraints = csr.getExtensions(id_ce_basicConstraints);
  if (basicConstraints.length > 1) throw new ShakenError('CSR.MALFORMED', 'Basic Constraints requested more than once');
  const [constraint] = basicConstraints;
  const ca = constraint === undefined ? false : new BasicConstraintsExtension(constraint.rawData).ca;
  let signatureValid: boolean;
  try {
    signatureValid = await csr.verify();
  } catch {
    signatureValid = false;
  }
  return {
    der,
    subject: readSubject(csr.subjectName),
    tnAuthList,
    spc: singleSpc(tnAuthList),
    ca,
    crlDistributionPoint: readCrlDistributionPoint(csr, 'CSR.INVALID_CRL_DISTRIBUTION_POINT'),
    publicKey,
    publicKeySpki,
    signatureValid,
  };
}

/**
 * What an STI-CA checks before issuing: the self-signature (`CSR.BAD_SIGNATURE`), the TNAuthList
 * against the order (`CSR.TN_AUTH_LIST_MISMATCH`), the CA flag against the token
 * (`CSR.CA_MISMATCH`) and, unless disabled, CN = "SHAKEN <SPC>" (`CSR.SUBJECT_MISMATCH`).
 */
export function checkShakenCsr(csr: ParsedShakenCsr, expected: ShakenCsrExpectations): void {
  if (!csr.signatureValid) throw new ShakenError('CSR.BAD_SIGNATURE', 'CSR self-signature does not verify');
  const expectedDer = Array.isArray(expected.tnAuthList)
    ? encodeTnAuthList(expected.tnAuthList as readonly TnAuthEntry[])
    : toBytes(expected.tnAuthList as BinaryInput);
  if (!bytesEqual(encodeTnAuthList(csr.tnAuthList), expectedDer)) {
    throw new ShakenError('CSR.TN_AUTH_LIST_MISMATCH', 'CSR TNAuthList differs from the order identifier');
  }
  if (expected.ca !== undefined && csr.ca !== expected.ca) {
    throw new ShakenError('CSR.CA_MISMATCH', `CSR asks for ${csr.ca ? 'a CA' : 'an end-entity'} certificate`);
  }
  if (expected.subjectCommonName !== false) {
    const [cn, ...more] = csr.subject.commonName;
    if (csr.spc === undefined || cn !== `SHAKEN ${csr.spc}` || more.length > 0) {
      throw new ShakenError('CSR.SUBJECT_MISMATCH', `CSR CN ${JSON.stringify(cn ?? '')} is not "SHAKEN <SPC>" for its TNAuthList`);
    }
  }
}
