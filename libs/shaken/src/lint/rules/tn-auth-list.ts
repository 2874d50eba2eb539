import { findExtension } from '../certificate-facts.js';
import { readCertificateSpc } from '../certificate-spc.js';
import { EffectiveDate } from '../effective-dates.js';
import { type CertificateRule, errorRule } from '../lint-rule.js';
import { ExtensionOid } from '../oids.js';
import { Citation } from './citations.js';

/** TNAuthList rules: ATIS-1000080 §6.4.1 with RFC 8226. */
export const tnAuthListRules: CertificateRule[] = [
  // "STI end-entity certificates shall contain a TNAuthList extension as specified in RFC 8226.
  // The TNAuthList shall contain a single SPC value." RFC 8226 §9: the extension is not critical.
  errorRule('e_atis_tn_auth_list', Citation.atisV003, EffectiveDate.atisV003Leaf, {
    appliesTo: (c) => !c.isCa,
    check: (c) => {
      const ext = findExtension(c, ExtensionOid.tnAuthList);
      if (!ext) return 'the end-entity certificate has no TNAuthList extension';
      if (ext.critical) return 'the TNAuthList extension is marked critical';
      const spc = readCertificateSpc(c);
      return spc.ok ? undefined : spc.problem;
    },
  }),
  // v005: "The SPC value shall contain only numbers and uppercase letters."
  errorRule('e_atis_tn_auth_list_spc_format', Citation.atisV005, EffectiveDate.atisV005Leaf, {
    appliesTo: (c) => !c.isCa,
    check: (c) => {
      const spc = readCertificateSpc(c);
      if (!spc.ok) return spc.problem;
      return /^[A-Z0-9]+$/.test(spc.spc) ? undefined : `the SPC "${spc.spc}" contains characters other than digits and uppercase letters`;
    },
  }),
  // v005: "STI root and intermediate certificates shall not contain a TNAuthList extension."
  errorRule('e_atis_tn_auth_list_ca', Citation.atisV005, EffectiveDate.atisV003, {
    appliesTo: (c) => c.isCa,
    check: (c) => (findExtension(c, ExtensionOid.tnAuthList) ? 'the CA certificate carries a TNAuthList extension' : undefined),
  }),
];
