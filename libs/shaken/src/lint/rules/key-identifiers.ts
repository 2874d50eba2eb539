import { type CertificateFacts, findExtension } from '../certificate-facts.js';
import { UniversalTag, bytesEqual, expectUniversal, readSingleTlv, toHex } from '../der.js';
import { EffectiveDate } from '../effective-dates.js';
import { type CertificateRule, endEntityAndCaRules, errorRule, warningRule } from '../lint-rule.js';
import { ExtensionOid } from '../oids.js';
import { Citation } from './citations.js';

function hasSki(c: CertificateFacts): boolean {
  return findExtension(c, ExtensionOid.subjectKeyIdentifier) !== undefined;
}

function hasAki(c: CertificateFacts): boolean {
  return findExtension(c, ExtensionOid.authorityKeyIdentifier) !== undefined;
}

/** Subject and Authority Key Identifier rules: ATIS-1000080 §6.4.1 and RFC 5280 §4.2.1.1-2. */
export const keyIdentifierRules: CertificateRule[] = [
  // v003: "STI certificates shall contain a Subject Key Identifier extension".
  ...endEntityAndCaRules(
    'e_atis_subject_key_identifier',
    Citation.atisV003,
    { endEntity: EffectiveDate.atisV003Leaf, ca: EffectiveDate.atisV003 },
    { check: (c) => (hasSki(c) ? undefined : 'the certificate has no Subject Key Identifier extension') },
  ),
  // v004 recommends and v005 requires "the 160-bit SHA-1 hash of the public key"; the reference
  // linter enforces the 20-byte size from the v004 dates.
  ...endEntityAndCaRules(
    'e_atis_subject_key_identifier_size',
    Citation.atisV004,
    { endEntity: EffectiveDate.atisV004Leaf, ca: EffectiveDate.atisV004 },
    {
      check: (c) => {
        const ext = findExtension(c, ExtensionOid.subjectKeyIdentifier);
        if (!ext) return 'the certificate has no Subject Key Identifier extension';
        let keyId: Uint8Array;
        try {
          keyId = expectUniversal(readSingleTlv(ext.value), UniversalTag.OctetString, 'SubjectKeyIdentifier').value;
        } catch (err) {
          return `the Subject Key Identifier cannot be decoded: ${(err as Error).message}`;
        }
        return keyId.length === 20 ? undefined : `the Subject Key Identifier is ${keyId.length} bytes; a SHA-1 hash is 20`;
      },
    },
  ),
  // "STI intermediate and end-entity certificates shall contain an Authority Key Identifier extension".
  ...endEntityAndCaRules(
    'e_atis_ext_authority_key_identifier',
    Citation.atisV003,
    { endEntity: EffectiveDate.atisV003Leaf, ca: EffectiveDate.atisV003 },
    {
      appliesTo: (c) => !c.isRoot,
      check: (c) => (hasAki(c) ? undefined : 'the certificate has no Authority Key Identifier extension'),
    },
  ),
  // "For root certificates that contain an Authority Key Identifier extension, the Authority Key
  // Identifier shall contain a keyIdentifier field with a value that matches the Subject Key Identifier".
  errorRule('e_atis_ext_authority_key_identifier_root', Citation.atisV003, EffectiveDate.atisV003, {
    appliesTo: (c) => c.isRoot && hasAki(c),
    check: (c) => {
      if (c.authorityKeyId && c.subjectKeyId && bytesEqual(c.authorityKeyId, c.subjectKeyId)) return undefined;
      const aki = c.authorityKeyId ? toHex(c.authorityKeyId, ':') : 'none';
      const ski = c.subjectKeyId ? toHex(c.subjectKeyId, ':') : 'none';
      return `the root's authority keyIdentifier (${aki}) does not match its Subject Key Identifier (${ski})`;
    },
  }),
  // RFC 5280 §4.2.1.2: end-entity certificates SHOULD include a Subject Key Identifier.
  warningRule('w_ext_subject_key_identifier_missing_sub_cert', Citation.rfc5280Ski, EffectiveDate.rfc2459, {
    appliesTo: (c) => !c.isCa,
    check: (c) => (hasSki(c) ? undefined : 'the end-entity certificate has no Subject Key Identifier extension'),
  }),
  // RFC 5280 §4.2.1.1: the extension MUST appear in all but self-signed certificates.
  errorRule('e_ext_authority_key_identifier_missing', Citation.rfc5280Aki, EffectiveDate.rfc2459, {
    appliesTo: (c) => !c.isRoot,
    check: (c) => (hasAki(c) || c.selfSigned ? undefined : 'the certificate has no Authority Key Identifier extension'),
  }),
  // RFC 5280 §4.2.1.1: "The keyIdentifier field of the authorityKeyIdentifier extension MUST be included".
  errorRule('e_ext_authority_key_identifier_no_key_identifier', Citation.rfc5280Aki, EffectiveDate.rfc2459, {
    appliesTo: (c) => !c.isRoot,
    check: (c) => (c.authorityKeyId ? undefined : 'the certificate has no authority keyIdentifier'),
  }),
];
