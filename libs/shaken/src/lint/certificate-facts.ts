import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { ShakenError } from '../errors.js';
import {
  DerError,
  type Tlv,
  UniversalTag,
  children,
  decodeOid,
  decodeString,
  decodeTime,
  expectUniversal,
  isContext,
  isUniversal,
  readSingleTlv,
} from './der.js';
import { ExtensionOid } from './oids.js';

/** One AttributeTypeAndValue of a distinguished name (RFC 5280 §4.1.2.4). */
export interface NameAttribute {
  type: string;
  value: string;
}

export interface DistinguishedName {
  /** The DER of the Name, as encoded in the certificate. */
  raw: Uint8Array;
  /** Attributes in encoding order, flattened across RDNs. */
  attributes: NameAttribute[];
}

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** Contents of extnValue (the DER of the extension's own structure). */
  value: Uint8Array;
}

/**
 * What the lint rules read from a certificate, decoded once. Fields that depend on an extension
 * are `undefined` when the extension is absent *or* cannot be decoded; rules that care about the
 * difference look at `extensions` directly.
 */
export interface CertificateFacts {
  der: Uint8Array;
  /** 1, 2 or 3 (the encoded value plus one). */
  version: number;
  /** Two's-complement contents of the serialNumber INTEGER. */
  serialBytes: Uint8Array;
  serial: bigint;
  signatureAlgorithmOid: string;
  publicKeyAlgorithmOid: string;
  /** namedCurve of an id-ecPublicKey key (RFC 5480 §2.1.1). */
  namedCurveOid: string | undefined;
  issuer: DistinguishedName;
  subject: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  extensions: CertificateExtension[];
  /** Basic Constraints present with cA TRUE. */
  isCa: boolean;
  /** The certificate's own public key verifies its signature (RFC 5280 §3.2). */
  selfSigned: boolean;
  /** A self-signed CA certificate. */
  isRoot: boolean;
  /** Policy identifiers from Certificate Policies, in order; empty when absent or undecodable. */
  policyOids: string[];
  /** Key Usage bits as a bit mask (bit n = KeyUsageBit n); undefined when absent or undecodable. */
  keyUsage: number | undefined;
  subjectKeyId: Uint8Array | undefined;
  /** keyIdentifier field of Authority Key Identifier (RFC 5280 §4.2.1.1). */
  authorityKeyId: Uint8Array | undefined;
  /** Every uniformResourceIdentifier in every distributionPoint fullName (RFC 5280 §4.2.1.13). */
  crlDistributionUris: string[];
}

/** RFC 5280 §4.2.1.3 KeyUsage bit numbers. */
export const KeyUsageBit = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;

export function keyUsageMask(...bits: number[]): number {
  return bits.reduce((mask, bit) => mask | (1 << bit), 0);
}

/** Decodes the parts of a DER certificate that the SHAKEN profile constrains. */
export function readCertificateFacts(der: Uint8Array): CertificateFacts {
  let tbs: Tlv[];
  let signatureAlgorithm: Tlv;
  try {
    const certificate = children(expectUniversal(readSingleTlv(der), UniversalTag.Sequence, 'Certificate'));
    if (certificate.length !== 3) throw new DerError(`Certificate has ${certificate.length} elements, expected 3`);
    tbs = children(expectUniversal(certificate[0], UniversalTag.Sequence, 'TBSCertificate'));
    signatureAlgorithm = certificate[1];
  } catch (err) {
    throw notACertificate(err);
  }
  try {
    return decodeTbs(der, tbs, signatureAlgorithm);
  } catch (err) {
    if (err instanceof ShakenError) throw err;
    throw notACertificate(err);
  }
}

function notACertificate(err: unknown): ShakenError {
  const detail = err instanceof Error ? err.message : String(err);
  return new ShakenError('CERT.UNPARSEABLE', `not a DER X.509 certificate: ${detail}`, { cause: err });
}

function decodeTbs(der: Uint8Array, tbs: Tlv[], signatureAlgorithm: Tlv): CertificateFacts {
  let i = 0;
  let version = 1;
  // RFC 5280 §4.1: version [0] EXPLICIT Version DEFAULT v1.
  if (tbs[i] && isContext(tbs[i], 0)) {
    const versionInt = expectUniversal(children(tbs[i])[0], UniversalTag.Integer, 'version');
    version = Number(integerValue(versionInt.value)) + 1;
    i++;
  }
  const serialTlv = expectUniversal(tbs[i++], UniversalTag.Integer, 'serialNumber');
  i++; // signature AlgorithmIdentifier inside TBS; the outer one is authoritative for the lints.
  const issuer = decodeName(tbs[i++]);
  const validity = children(expectUniversal(tbs[i++], UniversalTag.Sequence, 'validity'));
  const subject = decodeName(tbs[i++]);
  const spki = children(expectUniversal(tbs[i++], UniversalTag.Sequence, 'subjectPublicKeyInfo'));
  const spkiAlgorithm = children(expectUniversal(spki[0], UniversalTag.Sequence, 'SPKI algorithm'));
  const publicKeyAlgorithmOid = decodeOid(expectUniversal(spkiAlgorithm[0], UniversalTag.ObjectIdentifier, 'SPKI algorithm').value);
  const namedCurveOid =
    spkiAlgorithm[1] && isUniversal(spkiAlgorithm[1], UniversalTag.ObjectIdentifier) ? decodeOid(spkiAlgorithm[1].value) : undefined;

  let extensions: CertificateExtension[] = [];
  for (; i < tbs.length; i++) {
    // [1] issuerUniqueID and [2] subjectUniqueID are skipped; [3] holds the extensions.
    if (isContext(tbs[i], 3)) extensions = decodeExtensions(children(tbs[i])[0]);
  }

  const facts: CertificateFacts = {
    der,
    version,
    serialBytes: serialTlv.value,
    serial: integerValue(serialTlv.value),
    signatureAlgorithmOid: decodeOid(children(expectUniversal(signatureAlgorithm, UniversalTag.Sequence, 'signatureAlgorithm'))[0].value),
    publicKeyAlgorithmOid,
    namedCurveOid,
    issuer,
    subject,
    notBefore: decodeTime(validity[0]),
    notAfter: decodeTime(validity[1]),
    extensions,
    isCa: false,
    selfSigned: false,
    isRoot: false,
    policyOids: [],
    keyUsage: undefined,
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    crlDistributionUris: [],
  };
  facts.isCa = tolerant(() => decodeBasicConstraintsCa(findExtension(facts, ExtensionOid.basicConstraints)), false);
  facts.policyOids = tolerant(() => decodePolicies(findExtension(facts, ExtensionOid.certificatePolicies)), []);
  facts.keyUsage = tolerant(() => decodeKeyUsage(findExtension(facts, ExtensionOid.keyUsage)), undefined);
  facts.subjectKeyId = tolerant(() => decodeSubjectKeyId(findExtension(facts, ExtensionOid.subjectKeyIdentifier)), undefined);
  facts.authorityKeyId = tolerant(() => decodeAuthorityKeyId(findExtension(facts, ExtensionOid.authorityKeyIdentifier)), undefined);
  facts.crlDistributionUris = tolerant(() => decodeCrlUris(findExtension(facts, ExtensionOid.crlDistributionPoints)), []);
  facts.selfSigned = signedByOwnKey(der);
  facts.isRoot = facts.isCa && facts.selfSigned;
  return facts;
}

/** The first extension with this OID. */
export function findExtension(facts: Pick<CertificateFacts, 'extensions'>, oid: string): CertificateExtension | undefined {
  return facts.extensions.find((ext) => ext.oid === oid);
}

/** Values of one attribute type in a name, in order. */
export function attributeValues(name: DistinguishedName, type: string): string[] {
  return name.attributes.filter((a) => a.type === type).map((a) => a.value);
}

// A malformed extension must not stop the other lints: the rule that owns the extension reports it.
function tolerant<T>(decode: () => T, fallback: T): T {
  try {
    return decode();
  } catch {
    return fallback;
  }
}

function integerValue(contents: Uint8Array): bigint {
  if (contents.length === 0) return 0n;
  let value = 0n;
  for (const b of contents) value = (value << 8n) | BigInt(b);
  // Two's complement: a set top bit makes the INTEGER negative (X.690 §8.3.3).
  if (contents[0] & 0x80) value -= 1n << BigInt(contents.length * 8);
  return value;
}

function decodeName(tlv: Tlv): DistinguishedName {
  expectUniversal(tlv, UniversalTag.Sequence, 'Name');
  const attributes: NameAttribute[] = [];
  for (const rdn of children(tlv)) {
    for (const atv of children(expectUniversal(rdn, UniversalTag.Set, 'RelativeDistinguishedName'))) {
      const [type, value] = children(expectUniversal(atv, UniversalTag.Sequence, 'AttributeTypeAndValue'));
      attributes.push({ type: decodeOid(type.value), value: value.constructed ? '' : decodeString(value) });
    }
  }
  return { raw: tlv.raw, attributes };
}

function decodeExtensions(tlv: Tlv): CertificateExtension[] {
  return children(expectUniversal(tlv, UniversalTag.Sequence, 'Extensions')).map((ext) => {
    const parts = children(expectUniversal(ext, UniversalTag.Sequence, 'Extension'));
    const oid = decodeOid(expectUniversal(parts[0], UniversalTag.ObjectIdentifier, 'extnID').value);
    // RFC 5280 §4.1: critical BOOLEAN DEFAULT FALSE, so it may be absent.
    const hasCritical = parts.length === 3 && isUniversal(parts[1], UniversalTag.Boolean);
    const critical = hasCritical ? parts[1].value[0] !== 0 : false;
    const value = expectUniversal(parts[hasCritical ? 2 : 1], UniversalTag.OctetString, 'extnValue').value;
    return { oid, critical, value };
  });
}

function decodeBasicConstraintsCa(ext: CertificateExtension | undefined): boolean {
  if (!ext) return false;
  const fields = children(expectUniversal(readSingleTlv(ext.value), UniversalTag.Sequence, 'BasicConstraints'));
  return fields.length > 0 && isUniversal(fields[0], UniversalTag.Boolean) && fields[0].value[0] !== 0;
}

function decodePolicies(ext: CertificateExtension | undefined): string[] {
  if (!ext) return [];
  return children(expectUniversal(readSingleTlv(ext.value), UniversalTag.Sequence, 'CertificatePolicies')).map((info) =>
    decodeOid(expectUniversal(children(info)[0], UniversalTag.ObjectIdentifier, 'policyIdentifier').value),
  );
}

/** The bits of a KeyUsage BIT STRING that its unused-bits count leaves in play (X.690 §8.6.2). */
export function keyUsageBits(bitString: Tlv): number {
  const unused = bitString.value[0] ?? 0;
  const content = bitString.value.subarray(1);
  const bitLength = content.length * 8 - unused;
  let mask = 0;
  for (let bit = 0; bit < bitLength && bit < 31; bit++) {
    if (content[bit >> 3] & (0x80 >> (bit & 7))) mask |= 1 << bit;
  }
  return mask;
}

function decodeKeyUsage(ext: CertificateExtension | undefined): number | undefined {
  if (!ext) return undefined;
  return keyUsageBits(expectUniversal(readSingleTlv(ext.value), UniversalTag.BitString, 'KeyUsage'));
}

function decodeSubjectKeyId(ext: CertificateExtension | undefined): Uint8Array | undefined {
  if (!ext) return undefined;
  return expectUniversal(readSingleTlv(ext.value), UniversalTag.OctetString, 'SubjectKeyIdentifier').value;
}

function decodeAuthorityKeyId(ext: CertificateExtension | undefined): Uint8Array | undefined {
  if (!ext) return undefined;
  const fields = children(expectUniversal(readSingleTlv(ext.value), UniversalTag.Sequence, 'AuthorityKeyIdentifier'));
  // RFC 5280 §4.2.1.1: keyIdentifier [0] IMPLICIT KeyIdentifier OPTIONAL.
  return fields.find((f) => isContext(f, 0))?.value;
}

function decodeCrlUris(ext: CertificateExtension | undefined): string[] {
  if (!ext) return [];
  const uris: string[] = [];
  for (const point of children(expectUniversal(readSingleTlv(ext.value), UniversalTag.Sequence, 'CRLDistributionPoints'))) {
    const pointName = children(point).find((f) => isContext(f, 0));
    const fullName = pointName ? children(pointName).find((f) => isContext(f, 0)) : undefined;
    if (!fullName) continue;
    // GeneralName uniformResourceIdentifier [6] IA5String.
    for (const name of children(fullName)) if (isContext(name, 6) && !name.constructed) uris.push(decodeString(name));
  }
  return uris;
}

function signedByOwnKey(der: Uint8Array): boolean {
  try {
    const cert = new NodeX509Certificate(der);
    return cert.verify(cert.publicKey);
  } catch {
    // A key or signature algorithm OpenSSL cannot use: not provably self-signed.
    return false;
  }
}
