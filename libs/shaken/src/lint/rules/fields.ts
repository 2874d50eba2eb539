import type { CertificateFacts } from '../certificate-facts.js';
import { EffectiveDate } from '../effective-dates.js';
import { type CertificateRule, endEntityAndCaRules } from '../lint-rule.js';
import { AlgorithmOid, ShakenPolicyOid } from '../oids.js';
import { Citation } from './citations.js';

const v003 = { endEntity: EffectiveDate.atisV003Leaf, ca: EffectiveDate.atisV003 };
const v005 = { endEntity: EffectiveDate.atisV005Leaf, ca: EffectiveDate.atisV005 };

const curveNames: Record<string, string> = { [AlgorithmOid.p256]: 'P-256', [AlgorithmOid.p384]: 'P-384' };

function assertsCp1_4(cert: CertificateFacts): boolean {
  return cert.policyOids.includes(ShakenPolicyOid.cp1_4);
}

function bitLength(value: bigint): number {
  const magnitude = value < 0n ? -value : value;
  return magnitude === 0n ? 0 : magnitude.toString(2).length;
}

/** ATIS-1000080 §6.4.1.1: the basic TBSCertificate fields. */
export const fieldRules: CertificateRule[] = [
  // "STI certificates shall contain Version field specifying version 3 (value 2)."
  ...endEntityAndCaRules('e_atis_version', Citation.atisV003, v003, {
    check: (c) => (c.version === 3 ? undefined : `the certificate is X.509 version ${c.version}; STI certificates shall be version 3`),
  }),
  // v005: "a Serial Number field containing an integer greater than zero".
  ...endEntityAndCaRules('e_atis_serial_number', Citation.atisV003, v003, {
    check: (c) => (c.serial > 0n ? undefined : `the serial number ${c.serial} is not greater than zero`),
  }),
  // v005: "The serial number shall contain at least 64 bits of output from a CSPRNG."
  ...endEntityAndCaRules('e_atis_serial_number_size', Citation.atisV005Fields, v005, {
    check: (c) => {
      const bits = bitLength(c.serial);
      return bits >= 64 ? undefined : `the serial number has ${bits} significant bits; at least 64 are required`;
    },
  }),
  // "a Signature Algorithm field with the value ecdsa-with-SHA256"; CP 1.4 §6.1.5 also allows
  // ECDSA P-384 with SHA-384, which the reference linter accepts for CP 1.4 and root certificates.
  ...endEntityAndCaRules('e_atis_signature_algorithm', Citation.atisV003, v003, {
    check: (c) => {
      if (c.signatureAlgorithmOid === AlgorithmOid.ecdsaWithSha256) return undefined;
      if (c.signatureAlgorithmOid === AlgorithmOid.ecdsaWithSha384 && (assertsCp1_4(c) || c.isRoot)) return undefined;
      return `the signature algorithm is ${c.signatureAlgorithmOid}, not ecdsa-with-SHA256 (${AlgorithmOid.ecdsaWithSha256})`;
    },
  }),
  // v005: id-ecPublicKey with namedCurve P-256; CP 1.4 §6.1.5 lets CA keys use P-384.
  ...endEntityAndCaRules('e_atis_subject_public_key', Citation.atisV003, v003, {
    check: (c) => {
      if (c.publicKeyAlgorithmOid !== AlgorithmOid.ecPublicKey) {
        return `the public key algorithm is ${c.publicKeyAlgorithmOid}, not id-ecPublicKey`;
      }
      if (c.namedCurveOid === AlgorithmOid.p256) return undefined;
      if (c.namedCurveOid === AlgorithmOid.p384 && c.isCa && assertsCp1_4(c)) return undefined;
      const curve = c.namedCurveOid ? (curveNames[c.namedCurveOid] ?? c.namedCurveOid) : 'no named curve';
      return `the public key uses ${curve}; STI certificates shall carry a 256-bit P-256 key`;
    },
  }),
];
