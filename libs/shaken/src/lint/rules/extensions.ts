import { type CertificateFacts, KeyUsageBit, findExtension, keyUsageMask } from '../certificate-facts.js';
import { UniversalTag, children, expectUniversal, isUniversal, readSingleTlv } from '../der.js';
import { EffectiveDate } from '../effective-dates.js';
import { type CertificateRule, endEntityAndCaRules, errorRule } from '../lint-rule.js';
import { ExtensionOid, ShakenPolicyOid } from '../oids.js';
import { Citation } from './citations.js';

/** ATIS-1000080 v005 §6.4.1: the only extensions an STI certificate may carry. */
const SPECIFIED_EXTENSIONS: ReadonlySet<string> = new Set(Object.values(ExtensionOid));

const keyUsageNames = Object.entries(KeyUsageBit);

function describeKeyUsage(mask: number): string {
  const names = keyUsageNames.filter(([, bit]) => mask & (1 << bit)).map(([name]) => name);
  return names.length > 0 ? names.join(', ') : 'no usages';
}

const DIGITAL_SIGNATURE = keyUsageMask(KeyUsageBit.digitalSignature);
const KEY_CERT_SIGN = keyUsageMask(KeyUsageBit.keyCertSign);
const CA_ALLOWED = keyUsageMask(KeyUsageBit.keyCertSign, KeyUsageBit.digitalSignature, KeyUsageBit.cRLSign);

function hasKeyUsage(c: CertificateFacts): boolean {
  return findExtension(c, ExtensionOid.keyUsage) !== undefined;
}

function trailingZeroBits(content: Uint8Array): number {
  for (let i = content.length - 1; i >= 0; i--) {
    if (content[i] !== 0) {
      let count = 0;
      while (((content[i] >> count) & 1) === 0) count++;
      return (content.length - 1 - i) * 8 + count;
    }
  }
  return 0;
}

/** ATIS-1000080 §6.4.1 extension requirements (Key Usage, Basic Constraints, no others). */
export const extensionRules: CertificateRule[] = [
  // v005 §6.4.1.1: "STI certificates shall not include extensions that are not specified."
  ...endEntityAndCaRules(
    'e_atis_ext_not_specified',
    Citation.atisV005Fields,
    { endEntity: EffectiveDate.atisV005Leaf, ca: EffectiveDate.atisV005 },
    {
      check: (c) => {
        const extra = c.extensions.map((e) => e.oid).filter((oid) => !SPECIFIED_EXTENSIONS.has(oid));
        return extra.length === 0 ? undefined : `the certificate carries extensions the profile does not specify: ${extra.join(', ')}`;
      },
    },
  ),
  // "STI certificates shall contain a Key Usage extension marked as critical."
  errorRule('e_atis_ext_key_usage', Citation.atisV003, EffectiveDate.atisV003, {
    check: (c) => {
      const ext = findExtension(c, ExtensionOid.keyUsage);
      if (!ext) return 'the certificate has no Key Usage extension';
      return ext.critical ? undefined : 'the Key Usage extension is not marked critical';
    },
  }),
  // "For end-entity certificates, the Key Usage extension shall contain a single key usage value of digitalSignature (0)."
  errorRule('e_atis_ext_key_usage_ee', Citation.atisV003, EffectiveDate.atisV003Leaf, {
    appliesTo: (c) => !c.isCa && hasKeyUsage(c),
    check: (c) => {
      if (c.keyUsage === undefined) return 'the Key Usage extension cannot be decoded';
      return c.keyUsage === DIGITAL_SIGNATURE ? undefined : `Key Usage is ${describeKeyUsage(c.keyUsage)}; it shall be digitalSignature only`;
    },
  }),
  // v003/v004: keyCertSign, optionally digitalSignature and cRLSign; v005 (applied with CP 1.4):
  // "a single key usage value of keyCertSign (5)".
  errorRule('e_atis_ext_key_usage_ca', Citation.atisV003, EffectiveDate.atisV003, {
    appliesTo: (c) => c.isCa && hasKeyUsage(c),
    check: (c) => {
      if (c.keyUsage === undefined) return 'the Key Usage extension cannot be decoded';
      if (c.policyOids.includes(ShakenPolicyOid.cp1_4)) {
        return c.keyUsage === KEY_CERT_SIGN ? undefined : `Key Usage is ${describeKeyUsage(c.keyUsage)}; it shall be keyCertSign only`;
      }
      const ok = (c.keyUsage & KEY_CERT_SIGN) !== 0 && (c.keyUsage & ~CA_ALLOWED) === 0;
      return ok
        ? undefined
        : `Key Usage is ${describeKeyUsage(c.keyUsage)}; it shall contain keyCertSign and at most digitalSignature and cRLSign besides`;
    },
  }),
  // RFC 5280 §4.2.1.3 KeyUsage is a DER BIT STRING, and X.690 §11.2.2 drops trailing zero bits,
  // so the unused-bits count must equal the trailing zeros of the last byte.
  errorRule('e_incorrect_ku_encoding', Citation.x690BitString, new Date(0), {
    appliesTo: (c) => (findExtension(c, ExtensionOid.keyUsage)?.value.length ?? 0) > 0,
    check: (c) => {
      const value = findExtension(c, ExtensionOid.keyUsage)!.value;
      if (value.length < 4) return `the Key Usage encoding is ${value.length} bytes; a bit string with one usage needs at least 4`;
      const declared = value[2];
      const actual = trailingZeroBits(value.subarray(3));
      return declared === actual
        ? undefined
        : `the Key Usage bit string declares ${declared} unused bits but ends in ${actual} zero bits (DER requires them to match)`;
    },
  }),
  // "STI certificates shall contain a BasicConstraints extension marked critical."
  errorRule('e_atis_ext_basic_constraints', Citation.atisV003, EffectiveDate.atisV003, {
    check: (c) => {
      const ext = findExtension(c, ExtensionOid.basicConstraints);
      if (!ext) return 'the certificate has no Basic Constraints extension';
      if (!ext.critical) return 'the Basic Constraints extension is not marked critical';
      try {
        const fields = children(expectUniversal(readSingleTlv(ext.value), UniversalTag.Sequence, 'BasicConstraints'));
        if (fields.length > 0 && !isUniversal(fields[0], UniversalTag.Boolean) && !isUniversal(fields[0], UniversalTag.Integer)) {
          return 'the Basic Constraints extension is malformed';
        }
      } catch (err) {
        return `the Basic Constraints extension cannot be decoded: ${(err as Error).message}`;
      }
      return undefined;
    },
  }),
];
