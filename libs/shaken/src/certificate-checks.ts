import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
  type X509Certificate,
  type X509Crl,
} from '@peculiar/x509';
import { parseCertificateChain, serialHex } from './certificate.js';
import { type BinaryInput, bytesEqual, toBytes } from './encoding.js';
import { ShakenError } from './errors.js';
import { type PublicKeyInput, spkiDer } from './keys.js';
import { type TnAuthEntry, encodeTnAuthList, readTnAuthList } from './tn-auth-list.js';
import { namesEqual, readCrlDistributionPoint } from './x509-names.js';

export interface ChainOptions {
  /** Roots the path must end at (the STI-PA CA list, or the pinned STI-PA root). */
  trustAnchors: readonly X509Certificate[];
  /** Candidate intermediates (the rest of an x5u chain). */
  intermediates?: readonly X509Certificate[];
  /** The time the whole path must be valid at. */
  at: Date;
}

export interface CrlCheck {
  crl: X509Crl;
  /** The certificate whose key signed the CRL (for the STI-PA CRL: the STI-PA CRL signer). */
  issuer: X509Certificate;
}

export interface IssuedCertificateCheck {
  /** The `application/pem-certificate-chain` the CA returned (leaf first), or parsed certificates. */
  chain: string | BinaryInput | readonly X509Certificate[];
  /** The key the order was finalized with. */
  publicKey: PublicKeyInput;
  /** The order's TNAuthList (entries or DER). */
  tnAuthList: readonly TnAuthEntry[] | BinaryInput;
  trustAnchors: readonly X509Certificate[];
  crl?: CrlCheck;
  now: Date;
}

export interface CheckedCertificate {
  leaf: X509Certificate;
  /** Leaf first, ending at the trust anchor. */
  path: X509Certificate[];
}

// ATIS-1000080 paths are root → STI-CA intermediate → leaf; a little room for cross-signing.
const MAX_PATH_LENGTH = 6;

/** `CERT.KEY_MISMATCH` unless the certificate certifies exactly this public key. */
export async function checkCertificateKey(certificate: X509Certificate, publicKey: PublicKeyInput): Promise<void> {
  const ours = await spkiDer(publicKey);
  if (!bytesEqual(new Uint8Array(certificate.publicKey.rawData), ours)) {
    throw new ShakenError('CERT.KEY_MISMATCH', 'the certificate is for a different public key than the one the order used');
  }
}

/** `CERT.TN_AUTH_LIST_MISMATCH` unless the certificate's TNAuthList is exactly the order's. */
export function checkCertificateTnAuthList(certificate: X509Certificate, expected: readonly TnAuthEntry[] | BinaryInput): void {
  const expectedDer = Array.isArray(expected) ? encodeTnAuthList(expected as readonly TnAuthEntry[]) : toBytes(expected as BinaryInput);
  let actual: TnAuthEntry[] | undefined;
  try {
    actual = readTnAuthList(certificate);
  } catch (cause) {
    throw new ShakenError('CERT.TN_AUTH_LIST_MISMATCH', `the certificate's TNAuthList is invalid: ${(cause as Error).message}`, { cause });
  }
  if (actual === undefined) throw new ShakenError('CERT.TN_AUTH_LIST_MISMATCH', 'the certificate has no TNAuthList');
  if (!bytesEqual(encodeTnAuthList(actual), expectedDer)) {
    throw new ShakenError('CERT.TN_AUTH_LIST_MISMATCH', "the certificate's TNAuthList differs from the order's");
  }
}

/** `CERT.NOT_YET_VALID` / `CERT.EXPIRED` when `at` is outside notBefore..notAfter (inclusive, RFC 5280 §4.1.2.5). */
export function checkCertificateValidity(certificate: X509Certificate, at: Date): void {
  if (at.getTime() < certificate.notBefore.getTime()) {
    throw new ShakenError('CERT.NOT_YET_VALID', `the certificate is valid from ${certificate.notBefore.toISOString()}`);
  }
  if (at.getTime() > certificate.notAfter.getTime()) {
    throw new ShakenError('CERT.EXPIRED', `the certificate expired at ${certificate.notAfter.toISOString()}`);
  }
}

function sameCertificate(a: X509Certificate, b: X509Certificate): boolean {
  return bytesEqual(a.rawData, b.rawData);
}

function validAt(certificate: X509Certificate, at: Date): boolean {
  return certificate.notBefore.getTime() <= at.getTime() && at.getTime() <= certificate.notAfter.getTime();
}

// Node's native X.509 signature check is several times faster than re-importing the issuer key
// into WebCrypto for every link; one native object per parsed certificate.
const native = new WeakMap<X509Certificate, NodeX509Certificate>();

function nativeOf(certificate: X509Certificate): NodeX509Certificate {
  let node = native.get(certificate);
  if (node === undefined) {
    node = new NodeX509Certificate(Buffer.from(certificate.rawData));
    native.set(certificate, node);
  }
  return node;
}

async function signedBy(child: X509Certificate, issuer: X509Certificate): Promise<boolean> {
  try {
    return nativeOf(child).verify(nativeOf(issuer).publicKey);
  } catch {
    // Node cannot load it (an algorithm OpenSSL lacks): let @peculiar/x509 try.
    try {
      return await child.verify({ publicKey: issuer.publicKey, signatureOnly: true });
    } catch {
      return false;
    }
  }
}

// RFC 5280 §4.2.1.1: when both sides carry key identifiers they must agree; a cheap filter
// before the signature check.
function keyIdentifiersAgree(child: X509Certificate, issuer: X509Certificate): boolean {
  const aki = child.getExtension(AuthorityKeyIdentifierExtension)?.keyId;
  const ski = issuer.getExtension(SubjectKeyIdentifierExtension)?.keyId;
  return aki === undefined || ski === undefined || aki.toLowerCase() === ski.toLowerCase();
}

/** RFC 5280 §4.2.1.9 / §4.2.1.3: an issuer of certificates is a CA allowed to sign them. */
function canIssue(issuer: X509Certificate, belowIt: number): string | undefined {
  const constraints = issuer.getExtension(BasicConstraintsExtension);
  if (constraints?.ca !== true) return 'is not a CA (Basic Constraints cA is not TRUE)';
  if (constraints.pathLength !== undefined && belowIt > constraints.pathLength) {
    return `allows ${constraints.pathLength} intermediate certificates below it`;
  }
  const usage = issuer.getExtension(KeyUsagesExtension);
  if (usage !== null && (usage.usages & KeyUsageFlags.keyCertSign) === 0) return 'may not sign certificates (no keyCertSign)';
  return undefined;
}

/**
 * Builds and checks the path from `leaf` to one of `trustAnchors`: every link's signature is
 * verified with the next certificate's key, every issuer is a CA allowed to sign, and every
 * certificate on the path is valid at `at`. Returns the path (leaf first, anchor last).
 * Throws `CERT.UNTRUSTED_CHAIN` naming the first problem found.
 */
export async function verifyCertificateChain(leaf: X509Certificate, options: ChainOptions): Promise<X509Certificate[]> {
  const anchors = options.trustAnchors;
  const pool = [...anchors, ...(options.intermediates ?? [])];
  const problems: string[] = [];

  const extend = async (path: X509Certificate[]): Promise<X509Certificate[] | undefined> => {
    const current = path[path.length - 1] as X509Certificate;
    if (anchors.some((anchor) => sameCertificate(anchor, current))) return path;
    if (path.length >= MAX_PATH_LENGTH) {
      problems.push(`no trust anchor within ${MAX_PATH_LENGTH} certificates`);
      return undefined;
    }
    const candidates = pool.filter(
      (candidate) =>
        !path.some((seen) => sameCertificate(seen, candidate)) &&
        namesEqual(candidate.subjectName, current.issuerName) &&
        keyIdentifiersAgree(current, candidate),
    );
    if (candidates.length === 0) problems.push(`no issuer found for "${current.subject}" (issuer "${current.issuer}")`);
    for (const candidate of candidates) {
      if (!(await signedBy(current, candidate))) {
        problems.push(`the signature on "${current.subject}" does not verify with the key of "${candidate.subject}"`);
        continue;
      }
      const notAllowed = canIssue(candidate, path.length - 1);
      if (notAllowed !== undefined) {
        problems.push(`"${candidate.subject}" ${notAllowed}`);
        continue;
      }
      if (!validAt(candidate, options.at)) {
        problems.push(`"${candidate.subject}" is not valid at ${options.at.toISOString()}`);
        continue;
      }
      const found = await extend([...path, candidate]);
      if (found !== undefined) return found;
    }
    return undefined;
  };

  if (!validAt(leaf, options.at)) {
    throw new ShakenError('CERT.UNTRUSTED_CHAIN', `"${leaf.subject}" is not valid at ${options.at.toISOString()}`);
  }
  const path = await extend([leaf]);
  if (path === undefined) {
    throw new ShakenError('CERT.UNTRUSTED_CHAIN', `no trusted path: ${problems[0] ?? 'no trust anchors given'}`);
  }
  return path;
}

/**
 * Checks that `crl` was signed by `issuer` (`CRL.BAD_SIGNATURE`, also when the CRL names another
 * issuer) and, when `at` is given, that it is current (`CRL.NOT_YET_VALID`, `CRL.EXPIRED` after
 * nextUpdate).
 */
export async function verifyCrl(crl: X509Crl, issuer: X509Certificate, at?: Date): Promise<void> {
  if (!namesEqual(crl.issuerName, issuer.subjectName)) {
    throw new ShakenError('CRL.BAD_SIGNATURE', `the CRL is issued by "${crl.issuer}", not by "${issuer.subject}"`);
  }
  let valid: boolean;
  try {
    valid = await crl.verify({ publicKey: issuer.publicKey });
  } catch {
    valid = false;
  }
  if (!valid) throw new ShakenError('CRL.BAD_SIGNATURE', `the CRL signature does not verify with the key of "${issuer.subject}"`);
  if (at !== undefined) {
    if (at.getTime() < crl.thisUpdate.getTime()) {
      throw new ShakenError('CRL.NOT_YET_VALID', `the CRL takes effect at ${crl.thisUpdate.toISOString()}`);
    }
    if (crl.nextUpdate !== undefined && at.getTime() > crl.nextUpdate.getTime()) {
      throw new ShakenError('CRL.EXPIRED', `the CRL was due to be replaced at ${crl.nextUpdate.toISOString()}`);
    }
  }
}

/**
 * `CERT.REVOKED` when any certificate of `certificates` is on `crl`. A certificate is in the CRL's
 * scope when the CRL comes from its issuer, or from the cRLIssuer its CRL Distribution Point
 * names (the STI-PA CRL is indirect: ATIS-1000080 v005 §6.4.1). Verify the CRL first.
 */
export function checkNotRevoked(certificates: readonly X509Certificate[], crl: X509Crl): void {
  for (const certificate of certificates) {
    const point = readCrlDistributionPointSafely(certificate);
    const inScope =
      namesEqual(crl.issuerName, certificate.issuerName) ||
      (point !== undefined && point.issuerDn === crl.issuerName.toString());
    if (!inScope) continue;
    const entry = crl.findRevoked(serialHex(certificate));
    if (entry !== null) {
      throw new ShakenError(
        'CERT.REVOKED',
        `"${certificate.subject}" (serial ${serialHex(certificate)}) was revoked at ${entry.revocationDate.toISOString()}`,
      );
    }
  }
}

function readCrlDistributionPointSafely(certificate: X509Certificate) {
  try {
    return readCrlDistributionPoint(certificate, 'CERT.MALFORMED');
  } catch {
    return undefined;
  }
}

/**
 * Everything STIR-SHAKEN.md §4 asks of a certificate an STI-CA just issued, in this order:
 * parse the chain, public key equals ours, TNAuthList equals the order's, valid now, chains to a
 * trust anchor, not revoked (with a verified, current CRL). Throws the first failure's code.
 */
export async function checkIssuedCertificate(check: IssuedCertificateCheck): Promise<CheckedCertificate> {
  const chain = Array.isArray(check.chain)
    ? (check.chain as readonly X509Certificate[])
    : parseCertificateChain(check.chain as string | BinaryInput);
  const [leaf, ...intermediates] = chain;
  if (leaf === undefined) throw new ShakenError('CERT.EMPTY_CHAIN', 'the chain holds no certificate');
  await checkCertificateKey(leaf, check.publicKey);
  checkCertificateTnAuthList(leaf, check.tnAuthList);
  checkCertificateValidity(leaf, check.now);
  const path = await verifyCertificateChain(leaf, { trustAnchors: check.trustAnchors, intermediates, at: check.now });
  if (check.crl !== undefined) {
    await verifyCrl(check.crl.crl, check.crl.issuer, check.now);
    checkNotRevoked(path, check.crl.crl);
  }
  return { leaf, path };
}
