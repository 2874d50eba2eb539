import { createHash, webcrypto } from 'node:crypto';
import {
  certificateChainToPem,
  checkCertificateTnAuthList,
  checkCertificateValidity,
  importPrivateKeyPem,
  isShakenError,
  type LintFinding,
  lintCertificate,
  parseCertificateChain,
  serialHex,
  spkiDer,
  tnAuthListForSpc,
  type X509Certificate,
} from '@app/shaken';
import { assertPublishableChain, isStorageError } from '@app/storage';
import { invalid } from '../../common/domain-error.js';
import { certificateSha256, chainOrderProblem } from '../chain-order.js';

/** A chain that may be brought under management, with what the service stores about it. */
export interface ExaminedChain {
  /** Leaf first, re-encoded from the parsed certificates (nothing but CERTIFICATE blocks). */
  readonly chainPem: string;
  readonly leaf: X509Certificate;
  readonly fingerprintSha256: string;
  readonly serial: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lowercase hex SHA-256 of the leaf's SubjectPublicKeyInfo (private_keys.fingerprint). */
  readonly publicKeyFingerprint: string;
  /** Linter warnings (errors refuse the import). */
  readonly lintWarnings: readonly LintFinding[];
}

/**
 * Checks a chain someone else obtained before this service publishes it (issue 6, import):
 * readable, leaf first and each certificate issued by the next, valid now, its TNAuthList exactly
 * the OCN's single SPC (ATIS-1000080 v005 §6.4.1), no lint error from the SHAKEN certificate
 * linter, and small enough for an x5u. Every refusal is a 422 with its own code. Only the form:
 * whether the chain reaches an approved STI-CA root and is not revoked needs the STI-PA CA list
 * and CRL, and is CertificateTrustCheck's to decide (the import service runs it next).
 */
export function examineImportedChain(input: { chainPem: string; spc: string; now: Date }): ExaminedChain {
  // STIR-SHAKEN.md §9.3: private keys have been published at x5u URLs. Say so before anything else.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(input.chainPem)) {
    throw invalid('IMPORT.PRIVATE_KEY_IN_CHAIN', 'chainPem contains a private key; send the key as privateKeyPem, the chain only as certificates');
  }
  let chain: X509Certificate[];
  try {
    chain = parseCertificateChain(input.chainPem);
  } catch (error) {
    if (isShakenError(error)) throw invalid(error.code, `chainPem is not a PEM certificate chain: ${error.message}`);
    throw error;
  }
  const leaf = chain[0]!;
  const order = chainOrderProblem(chain);
  if (order) throw invalid('IMPORT.CHAIN_ORDER', `chainPem must be the end-entity certificate first, then its issuers in order: ${order}`);
  try {
    checkCertificateTnAuthList(leaf, tnAuthListForSpc(input.spc));
    checkCertificateValidity(leaf, input.now);
  } catch (error) {
    if (isShakenError(error)) {
      const hint = error.code === 'CERT.TN_AUTH_LIST_MISMATCH' ? ` (expected exactly the SPC ${input.spc})` : '';
      throw invalid(error.code, `${error.message}${hint}`);
    }
    throw error;
  }
  const findings = lintCertificate(leaf, { now: input.now });
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    throw invalid('CERT.LINT_FAILED', `the certificate breaks the SHAKEN certificate profile: ${errors.map((e) => e.code).join(', ')}`, { findings: errors });
  }
  const chainPem = certificateChainToPem(chain);
  try {
    assertPublishableChain(new Uint8Array(Buffer.from(chainPem, 'utf8')));
  } catch (error) {
    if (isStorageError(error)) throw invalid(error.code, `the chain cannot be served at an x5u: ${error.message}`);
    throw error;
  }
  return {
    chainPem,
    leaf,
    fingerprintSha256: certificateSha256(leaf),
    serial: serialHex(leaf),
    subject: leaf.subject,
    issuer: leaf.issuer,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    publicKeyFingerprint: createHash('sha256').update(new Uint8Array(leaf.publicKey.rawData)).digest('hex'),
    lintWarnings: findings.filter((f) => f.severity === 'warning'),
  };
}

/**
 * The private key as PKCS#8 DER, after checking it is the key the leaf certifies
 * (STIR-SHAKEN.md §9.3: key/certificate mismatches after manual rotations). The caller seals it
 * and wipes the returned bytes. Errors never quote the key.
 */
export async function matchingPkcs8(leaf: X509Certificate, privateKeyPem: string): Promise<Uint8Array> {
  let pair;
  try {
    pair = await importPrivateKeyPem(privateKeyPem, true);
  } catch (error) {
    if (isShakenError(error)) throw invalid(error.code, `privateKeyPem: ${error.message}`);
    throw error;
  }
  const spki = await spkiDer(pair.publicKey);
  if (!Buffer.from(spki).equals(Buffer.from(new Uint8Array(leaf.publicKey.rawData)))) {
    throw invalid('CERT.KEY_MISMATCH', 'privateKeyPem is not the key the certificate certifies');
  }
  return new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
}
