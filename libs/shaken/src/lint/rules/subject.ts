import { type CertificateFacts, type DistinguishedName, attributeValues, findExtension } from '../certificate-facts.js';
import { readCertificateSpc } from '../certificate-spc.js';
import { EffectiveDate } from '../effective-dates.js';
import { ISO_3166_ALPHA_2 } from '../iso-3166.js';
import { type CertificateRule, endEntityAndCaRules, errorRule } from '../lint-rule.js';
import { AttributeOid, ExtensionOid, ShakenPolicyOid, attributeShortName } from '../oids.js';
import { Citation } from './citations.js';

const v003 = { endEntity: EffectiveDate.atisV003Leaf, ca: EffectiveDate.atisV003 };
const v004 = { endEntity: EffectiveDate.atisV004Leaf, ca: EffectiveDate.atisV004 };
const v005 = { endEntity: EffectiveDate.atisV005Leaf, ca: EffectiveDate.atisV005 };
const cp1_3 = { endEntity: EffectiveDate.cpV1_3Leaf, ca: EffectiveDate.cpV1_3 };
const cp1_4 = { endEntity: EffectiveDate.cpV1_4Leaf, ca: EffectiveDate.cpV1_4 };

function countries(c: CertificateFacts): string[] {
  return attributeValues(c.subject, AttributeOid.country);
}

/** The subject CN the reference linter reads: the first one, or empty. */
function commonName(c: CertificateFacts): string {
  return attributeValues(c.subject, AttributeOid.commonName)[0] ?? '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sameName(a: DistinguishedName, b: DistinguishedName): boolean {
  return (
    a.attributes.length === b.attributes.length &&
    a.attributes.every((attr, i) => attr.type === b.attributes[i].type && attr.value === b.attributes[i].value)
  );
}

export function formatName(name: DistinguishedName): string {
  return name.attributes.map((a) => `${attributeShortName(a.type)}=${a.value}`).join(', ');
}

/** A subscriber certificate in RFC 5280 terms: neither a CA nor self-signed. */
function isSubscriber(c: CertificateFacts): boolean {
  return !c.isCa && !c.selfSigned;
}

/** ATIS-1000080 §6.4.1 subject DN requirements, US SHAKEN CP §3.1 naming. */
export const subjectRules: CertificateRule[] = [
  // v003: "The DN shall contain a Country (C=) attribute and a Common Name (CN=) attribute."
  ...endEntityAndCaRules('e_atis_subject_dn', Citation.atisV003, v003, {
    check: (c) => {
      const cns = attributeValues(c.subject, AttributeOid.commonName);
      if (countries(c).length === 0) return 'the subject DN has no Country (C=) attribute';
      if (cns.length === 0) return 'the subject DN has no Common Name (CN=) attribute';
      if (countries(c).length > 1) return 'the subject DN has more than one Country (C=) attribute';
      if (cns.length > 1) return 'the subject DN has more than one Common Name (CN=) attribute';
      return undefined;
    },
  }),
  // v005: "The Country (C=) attribute shall contain an ISO 3166-1 alpha-2 country code."
  ...endEntityAndCaRules('e_atis_subject_c_iso', Citation.atisV005, v005, {
    check: (c) => {
      const values = countries(c);
      if (values.length !== 1) return `the subject has ${values.length} Country (C=) attributes; exactly one is required`;
      return ISO_3166_ALPHA_2.has(values[0]) ? undefined : `Country (C=) "${values[0]}" is not an ISO 3166-1 alpha-2 code`;
    },
  }),
  // CP 1.4 §3.1: "subject DNs shall include single country name (C) which shall be US".
  ...endEntityAndCaRules('e_atis_subject_c_us', Citation.cpV1_4Naming, cp1_4, {
    appliesTo: (c) => c.policyOids.includes(ShakenPolicyOid.cp1_4),
    check: (c) => {
      const values = countries(c);
      if (values.length !== 1) return `the subject has ${values.length} Country (C=) attributes; exactly one "US" is required`;
      return values[0] === 'US' ? undefined : `Country (C=) is "${values[0]}"; CP 1.4 requires "US"`;
    },
  }),
  // v004: "The DN shall contain ... an Organization (O=) attribute" holding a legal name.
  ...endEntityAndCaRules('e_atis_subject_o_required', Citation.atisV004, v004, {
    check: (c) => {
      const count = attributeValues(c.subject, AttributeOid.organization).length;
      return count === 1 ? undefined : `the subject has ${count} Organization (O=) attributes; exactly one is required`;
    },
  }),
  // v003: "The Common Name attribute shall include the text string SHAKEN" (case-sensitive, as a word).
  ...endEntityAndCaRules('e_atis_subject_cn', Citation.atisV003, v003, {
    check: (c) => (/\bSHAKEN\b/.test(commonName(c)) ? undefined : `the Common Name "${commonName(c)}" does not contain "SHAKEN"`),
  }),
  // v004: end-entity CN = "SHAKEN", one space, the SPC from the TNAuthList (e.g. "CN=SHAKEN 1234").
  errorRule('e_atis_subject_cn_spc', Citation.atisV004, EffectiveDate.atisV004Leaf, {
    appliesTo: isSubscriber,
    check: (c) => {
      const spc = readCertificateSpc(c);
      if (!spc.ok) return `cannot check the Common Name against the SPC: ${spc.problem}`;
      const expected = `SHAKEN ${spc.spc}`;
      return new RegExp(`\\b${escapeRegExp(expected)}\\b`).test(commonName(c))
        ? undefined
        : `the Common Name "${commonName(c)}" does not contain "${expected}"`;
    },
  }),
  // v005: "For root certificates, the Common Name attribute shall include the text string ROOT (case insensitive)."
  errorRule('e_atis_subject_cn_root', Citation.atisV005, EffectiveDate.atisV005, {
    appliesTo: (c) => c.isRoot,
    check: (c) => (/\bROOT\b/i.test(commonName(c)) ? undefined : `the root's Common Name "${commonName(c)}" does not contain the word "ROOT"`),
  }),
  // CP 1.3 §3.1: "The serialNumber attribute shall be included along with the CN".
  ...endEntityAndCaRules('e_us_cp_subject_sn_shall', Citation.cpV1_3Naming, cp1_3, {
    appliesTo: (c) => c.policyOids.includes(ShakenPolicyOid.cp1_3) && findExtension(c, ExtensionOid.tnAuthList) !== undefined,
    check: (c) =>
      attributeValues(c.subject, AttributeOid.serialNumber).some((v) => v.length > 0)
        ? undefined
        : 'the subject DN has no serialNumber attribute, which CP 1.3 requires',
  }),
  // CP 1.4 §3.1: the serialNumber attribute "may also be included" to tell successive certificates
  // apart; when present it has to be one non-empty value to do that.
  ...endEntityAndCaRules('e_us_cp_subject_sn_may', Citation.cpV1_4Naming, cp1_4, {
    appliesTo: (c) => c.policyOids.includes(ShakenPolicyOid.cp1_4),
    check: (c) => {
      const values = attributeValues(c.subject, AttributeOid.serialNumber);
      if (values.length > 1) return `the subject DN has ${values.length} serialNumber attributes; at most one is allowed`;
      if (values.length === 1 && values[0].trim().length === 0) return 'the subject DN serialNumber attribute is empty';
      return undefined;
    },
  }),
  // v003: "For root certificates, the Issuer field shall match the certificate's Subject field."
  errorRule('e_issuer_root', Citation.atisV003, EffectiveDate.atisV003, {
    appliesTo: (c) => c.isRoot,
    check: (c) =>
      sameName(c.issuer, c.subject) ? undefined : `the root's issuer "${formatName(c.issuer)}" differs from its subject "${formatName(c.subject)}"`,
  }),
];
