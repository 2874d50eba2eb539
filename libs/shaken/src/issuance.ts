import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AuthorityKeyIdentifier, CRLNumber, KeyIdentifier, id_ce_authorityKeyIdentifier, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  CertificatePolicyExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectKeyIdentifierExtension,
  type X509Certificate,
  X509CertificateGenerator,
  type X509Crl,
  X509CrlGenerator,
  type X509CrlReason,
} from '@peculiar/x509';
import { ShakenError } from './errors.js';
import { keyIdentifier } from './certificate.js';
import { hexEncode } from './encoding.js';
import { type CryptoKey, type CryptoKeyPair, type PublicKeyInput, importSpki, spkiDer } from './keys.js';
import { TnAuthListExtension, assertValidSpc } from './tn-auth-list.js';
import { ATTRIBUTE_OID, crlDistributionPointExtension, parseDn } from './x509-names.js';

/** US SHAKEN CP 1.3 and 1.4 policy OIDs (ATIS-1000080 v005 §6.4.1, CP §1.2). */
export const SHAKEN_CP_1_3_OID = '2.16.840.1.114569.1.1.3';
export const SHAKEN_CP_1_4_OID = '2.16.840.1.114569.1.1.4';

/** A CA that signs: its certificate (for the issuer DN and key identifier) and its private key. */
export interface IssuingAuthority {
  certificate: X509Certificate;
  privateKey: CryptoKey;
}

export interface ShakenCertificateParams {
  issuer: IssuingAuthority;
  subjectPublicKey: PublicKeyInput;
  spc: string;
  legalName: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
  crlIssuerDn: string;
  /** Default CP 1.3. */
  policyOid?: string;
  /** Positive hex; default 20 random octets (159 random bits). */
  serial?: string;
  /**
   * Subject serialNumber attribute: CP 1.3 requires one, CP 1.4 allows it. Default 16 random
   * octets in uppercase hex (as STI-CAs write it); `null` leaves it out.
   */
  subjectSerialNumber?: string | null;
  /** ISO 3166-1 alpha-2; CP 1.4 requires US. */
  country?: string;
}

export type CaKeyUsage = 'keyCertSign' | 'cRLSign' | 'digitalSignature';

export interface CaCertificateParams {
  /** The new CA's keys; a root signs itself with them. */
  keys: CryptoKeyPair;
  /** DN of the new CA, DER order, e.g. `C=US, O=Example STI-CA, CN=Example SHAKEN Root`. */
  subjectDn: string;
  notBefore: Date;
  notAfter: Date;
  /** Omit for a self-signed root. */
  issuer?: IssuingAuthority;
  /** Intermediates only (roots carry none, ATIS-1000080 v005 §6.4.1): the STI-PA CRL. */
  crl?: { url: string; issuerDn: string };
  /** Intermediates only; default CP 1.3. Roots carry no Certificate Policies. */
  policyOid?: string;
  serial?: string;
  /** Default keyCertSign only (ATIS-1000080 v005: "a single key usage value of keyCertSign"). */
  keyUsage?: readonly CaKeyUsage[];
  pathLength?: number;
}

export interface EndEntityCertificateParams {
  issuer: IssuingAuthority;
  subjectPublicKey: PublicKeyInput;
  subjectDn: string;
  notBefore: Date;
  notAfter: Date;
  serial?: string;
}

export interface CrlEntryParams {
  /** Hex serial number of the revoked certificate. */
  serialNumber: string;
  revocationDate: Date;
  reason?: X509CrlReason;
}

export interface CrlParams {
  issuer: IssuingAuthority;
  thisUpdate: Date;
  nextUpdate: Date;
  /** RFC 5280 §5.2.3: monotonically increasing. */
  crlNumber: number;
  entries?: readonly CrlEntryParams[];
}

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
// RFC 5280 §4.1.2.2: at most 20 octets.
const MAX_SERIAL_OCTETS = 20;

/**
 * CA/B-style serial: 20 random octets with the top bit cleared so the INTEGER stays positive and
 * 20 octets long (ATIS-1000080 v005 §6.4.1: positive, at least 64 bits of entropy).
 */
export function randomSerial(): string {
  const bytes = randomBytes(MAX_SERIAL_OCTETS);
  bytes[0] = (bytes[0] as number) & 0x7f || 0x01;
  return bytes.toString('hex');
}

function checkedSerial(serial: string | undefined): string {
  if (serial === undefined) return randomSerial();
  const hex = serial.toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length % 2 !== 0) {
    throw new ShakenError('ISSUANCE.INVALID_SERIAL', 'serial must be an even-length hex string');
  }
  if (/^0*$/.test(hex)) throw new ShakenError('ISSUANCE.INVALID_SERIAL', 'serial must be positive');
  if (hex.length / 2 > MAX_SERIAL_OCTETS || (hex.length / 2 === MAX_SERIAL_OCTETS && parseInt(hex.slice(0, 2), 16) > 0x7f)) {
    throw new ShakenError('ISSUANCE.INVALID_SERIAL', 'serial must fit in 20 octets as a positive INTEGER (RFC 5280 §4.1.2.2)');
  }
  return hex;
}

function checkValidityWindow(notBefore: Date, notAfter: Date): void {
  if (!(notBefore instanceof Date) || !(notAfter instanceof Date) || Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new ShakenError('ISSUANCE.INVALID_VALIDITY', 'notBefore and notAfter must be valid dates');
  }
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new ShakenError('ISSUANCE.INVALID_VALIDITY', 'notAfter must be later than notBefore');
  }
}

async function subjectKeyIdentifierHex(publicKey: PublicKeyInput): Promise<string> {
  return hexEncode(keyIdentifier(await spkiDer(publicKey)));
}

/** AKI keyIdentifier = the issuer's SKI (ATIS-1000080 v005 §6.4.1), computed when it has none. */
async function authorityKeyIdentifier(issuer: X509Certificate): Promise<AuthorityKeyIdentifierExtension> {
  const ski = issuer.getExtension(SubjectKeyIdentifierExtension);
  return new AuthorityKeyIdentifierExtension(ski?.keyId ?? hexEncode(keyIdentifier(issuer.publicKey.rawData)), false);
}

async function publicCryptoKey(key: PublicKeyInput): Promise<CryptoKey> {
  return key instanceof Uint8Array || key instanceof ArrayBuffer ? importSpki(key) : key;
}

async function sign(
  params: {
    issuer: IssuingAuthority;
    subject: Name;
    publicKey: PublicKeyInput;
    notBefore: Date;
    notAfter: Date;
    serial?: string;
    extensions: Extension[];
  },
): Promise<X509Certificate> {
  checkValidityWindow(params.notBefore, params.notAfter);
  try {
    return await X509CertificateGenerator.create({
      serialNumber: checkedSerial(params.serial),
      subject: params.subject,
      issuer: params.issuer.certificate.subjectName,
      notBefore: params.notBefore,
      notAfter: params.notAfter,
      publicKey: await publicCryptoKey(params.publicKey),
      signingKey: params.issuer.privateKey,
      signingAlgorithm: ES256,
      extensions: params.extensions,
    });
  } catch (cause) {
    if (cause instanceof ShakenError) throw cause;
    throw new ShakenError('ISSUANCE.SIGNING_FAILED', 'the issuer key could not sign the certificate', { cause });
  }
}

function assertPolicyOid(oid: string): void {
  if (!/^2\.16\.840\.1\.114569\.1\.1\.[0-9]+$/.test(oid)) {
    throw new ShakenError('ISSUANCE.INVALID_POLICY', `policy ${oid} is not a SHAKEN CP OID 2.16.840.1.114569.1.1.x`);
  }
}

/**
 * An end-entity certificate in the ATIS-1000080 v005 §6.4.1 profile, extensions in the order
 * STI-CAs write them: Key Usage (critical, digitalSignature), Basic Constraints (critical,
 * CA:FALSE), SKI, AKI, TNAuthList (one SPC), CRL Distribution Points (URL + cRLIssuer),
 * Certificate Policies (one SHAKEN CP OID). Subject C, O, CN="SHAKEN <SPC>" and serialNumber.
 */
export async function issueShakenCertificate(params: ShakenCertificateParams): Promise<X509Certificate> {
  assertValidSpc(params.spc);
  const policyOid = params.policyOid ?? SHAKEN_CP_1_3_OID;
  assertPolicyOid(policyOid);
  if (typeof params.legalName !== 'string' || params.legalName.trim() === '' || params.legalName.length > 64) {
    throw new ShakenError('ISSUANCE.INVALID_SUBJECT', 'legal name must be 1 to 64 characters');
  }
  const country = params.country ?? 'US';
  if (!/^[A-Z]{2}$/.test(country)) throw new ShakenError('ISSUANCE.INVALID_SUBJECT', 'country must be ISO 3166-1 alpha-2');
  const subjectSerial = params.subjectSerialNumber === undefined ? randomBytes(16).toString('hex').toUpperCase() : params.subjectSerialNumber;
  const subject = new Name([
    { [ATTRIBUTE_OID.country]: [country] },
    { [ATTRIBUTE_OID.organization]: [params.legalName] },
    { [ATTRIBUTE_OID.commonName]: [`SHAKEN ${params.spc}`] },
    ...(subjectSerial === null ? [] : [{ [ATTRIBUTE_OID.serialNumber]: [subjectSerial] }]),
  ]);
  return sign({
    issuer: params.issuer,
    subject,
    publicKey: params.subjectPublicKey,
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    serial: params.serial,
    extensions: [
      ...(await endEntityBaseExtensions(params.issuer.certificate, params.subjectPublicKey)),
      new TnAuthListExtension([{ kind: 'spc', spc: params.spc }]),
      crlDistributionPointExtension({ url: params.crlUrl, issuerDn: params.crlIssuerDn }, 'ISSUANCE.INVALID_CRL_DISTRIBUTION_POINT'),
      new CertificatePolicyExtension([policyOid], false),
    ],
  });
}

function keyUsageFlags(usages: readonly CaKeyUsage[]): KeyUsageFlags {
  if (usages.length === 0 || !usages.includes('keyCertSign')) {
    throw new ShakenError('ISSUANCE.INVALID_KEY_USAGE', 'a CA certificate needs keyCertSign');
  }
  let flags = 0;
  for (const usage of usages) flags |= KeyUsageFlags[usage];
  return flags as KeyUsageFlags;
}

/**
 * A SHAKEN root (self-signed: no CRL Distribution Points, no Certificate Policies, AKI = own SKI)
 * or intermediate (signed by `issuer`, with the STI-PA CRL point and one CP OID), per
 * ATIS-1000080 v005 §6.4.1. The CN should contain "SHAKEN", and "ROOT" for a root.
 */
export async function createCaCertificate(params: CaCertificateParams): Promise<X509Certificate> {
  const subject = parseDn(params.subjectDn, 'ISSUANCE.INVALID_SUBJECT');
  const flags = keyUsageFlags(params.keyUsage ?? ['keyCertSign']);
  const ski = await subjectKeyIdentifierHex(params.keys.publicKey);
  const common: Extension[] = [
    new KeyUsagesExtension(flags, true),
    new BasicConstraintsExtension(true, params.pathLength, true),
    new SubjectKeyIdentifierExtension(ski, false),
  ];
  if (params.issuer === undefined) {
    if (params.crl !== undefined || params.policyOid !== undefined) {
      throw new ShakenError('ISSUANCE.INVALID_PROFILE', 'STI root certificates carry no CRL Distribution Points and no Certificate Policies');
    }
    checkValidityWindow(params.notBefore, params.notAfter);
    try {
      return await X509CertificateGenerator.createSelfSigned({
        serialNumber: checkedSerial(params.serial),
        name: subject,
        notBefore: params.notBefore,
        notAfter: params.notAfter,
        keys: params.keys,
        signingAlgorithm: ES256,
        extensions: [...common, new AuthorityKeyIdentifierExtension(ski, false)],
      });
    } catch (cause) {
      if (cause instanceof ShakenError) throw cause;
      throw new ShakenError('ISSUANCE.SIGNING_FAILED', 'the root key could not sign its certificate', { cause });
    }
  }
  if (params.crl === undefined) {
    throw new ShakenError('ISSUANCE.INVALID_PROFILE', 'STI intermediate certificates carry the STI-PA CRL Distribution Point');
  }
  const policyOid = params.policyOid ?? SHAKEN_CP_1_3_OID;
  assertPolicyOid(policyOid);
  return sign({
    issuer: params.issuer,
    subject,
    publicKey: params.keys.publicKey,
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    serial: params.serial,
    extensions: [
      ...common,
      await authorityKeyIdentifier(params.issuer.certificate),
      crlDistributionPointExtension(params.crl, 'ISSUANCE.INVALID_CRL_DISTRIBUTION_POINT'),
      new CertificatePolicyExtension([policyOid], false),
    ],
  });
}

/**
 * A plain end-entity signing certificate (Key Usage digitalSignature, CA:FALSE, SKI, AKI): what
 * an STI-PA signs SPC tokens and CA lists with. Not a SHAKEN provider certificate.
 */
export async function issueEndEntityCertificate(params: EndEntityCertificateParams): Promise<X509Certificate> {
  return sign({
    issuer: params.issuer,
    subject: parseDn(params.subjectDn, 'ISSUANCE.INVALID_SUBJECT'),
    publicKey: params.subjectPublicKey,
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    serial: params.serial,
    extensions: [
      ...(await endEntityBaseExtensions(params.issuer.certificate, params.subjectPublicKey)),
    ],
  });
}

/**
 * An RFC 5280 v2 CRL signed by `issuer`, with the Authority Key Identifier and CRL Number
 * extensions that §5.2 requires of conforming CRL issuers.
 */
export async function createCrl(params: CrlParams): Promise<X509Crl> {
  checkValidityWindow(params.thisUpdate, params.nextUpdate);
  if (!Number.isSafeInteger(params.crlNumber) || params.crlNumber < 0) {
    throw new ShakenError('ISSUANCE.INVALID_CRL_NUMBER', 'CRL number must be a non-negative integer');
  }
  const aki = await authorityKeyIdentifier(params.issuer.certificate);
  const keyId = new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(new Uint8Array(Buffer.from(aki.keyId ?? '', 'hex'))) });
  try {
    return await X509CrlGenerator.create(
      {
        issuer: params.issuer.certificate.subjectName,
        thisUpdate: params.thisUpdate,
        nextUpdate: params.nextUpdate,
        signingKey: params.issuer.privateKey,
        signingAlgorithm: ES256,
        extensions: [
          new Extension(id_ce_authorityKeyIdentifier, false, AsnConvert.serialize(keyId)),
          new Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(params.crlNumber))),
        ],
        entries: (params.entries ?? []).map((entry) => ({
          serialNumber: checkedSerial(entry.serialNumber),
          revocationDate: entry.revocationDate,
          reason: entry.reason,
        })),
      },
    );
  } catch (cause) {
    if (cause instanceof ShakenError) throw cause;
    throw new ShakenError('ISSUANCE.SIGNING_FAILED', 'the CRL could not be signed', { cause });
  }
}

/**
 * What every end entity we issue carries (ATIS-1000080 v005 §6.4.1): digitalSignature only
 * (critical), cA=false (critical), its own SKI and the issuer's AKI.
 */
async function endEntityBaseExtensions(issuer: X509Certificate, subjectPublicKey: PublicKeyInput): Promise<Extension[]> {
  return [
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new BasicConstraintsExtension(false, undefined, true),
    new SubjectKeyIdentifierExtension(await subjectKeyIdentifierHex(subjectPublicKey), false),
    await authorityKeyIdentifier(issuer),
  ];
}
