import { findExtension } from '../certificate-facts.js';
import { EffectiveDate } from '../effective-dates.js';
import { type CertificateRule, endEntityAndCaRules, errorRule } from '../lint-rule.js';
import { ExtensionOid, ShakenPolicyOid } from '../oids.js';
import { Citation } from './citations.js';

const SHAKEN_POLICIES: readonly string[] = Object.values(ShakenPolicyOid);

/** Certificate Policies rules: ATIS-1000080 §6.4.1, US SHAKEN CP §1.2. */
export const certificatePolicyRules: CertificateRule[] = [
  // "STI intermediate and end-entity certificates shall include a Certificate Policies extension
  // containing a single OID value"; the profile marks it not critical.
  ...endEntityAndCaRules(
    'e_atis_ext_certificate_policies',
    Citation.atisV003,
    { endEntity: EffectiveDate.atisV003Leaf, ca: EffectiveDate.atisV003 },
    {
      appliesTo: (c) => !c.isRoot,
      check: (c) => {
        const ext = findExtension(c, ExtensionOid.certificatePolicies);
        if (!ext) return 'the certificate has no Certificate Policies extension';
        if (ext.critical) return 'the Certificate Policies extension is marked critical';
        return c.policyOids.length === 1 ? undefined : `the Certificate Policies extension holds ${c.policyOids.length} policies; it shall hold one`;
      },
    },
  ),
  // The single OID "identifies the SHAKEN Certificate Policy established by the STI-PA":
  // 2.16.840.1.114569.1.1.3 (CP 1.3) or .4 (CP 1.4).
  ...endEntityAndCaRules(
    'e_shaken_certificate_policies_id',
    Citation.cpPolicyId,
    { endEntity: EffectiveDate.cpV1_3Leaf, ca: EffectiveDate.cpV1_3 },
    {
      appliesTo: (c) => !c.isRoot,
      check: (c) => {
        if (c.policyOids.length !== 1) return `the certificate asserts ${c.policyOids.length} policies; it shall assert one SHAKEN CP OID`;
        return SHAKEN_POLICIES.includes(c.policyOids[0])
          ? undefined
          : `policy ${c.policyOids[0]} is not a SHAKEN CP OID (${SHAKEN_POLICIES.join(', ')})`;
      },
    },
  ),
  // v005: "STI root certificates shall not contain a Certificate Policies extension."
  errorRule('e_atis_ext_certificate_policies_root', Citation.atisV005, EffectiveDate.atisV005, {
    appliesTo: (c) => c.isRoot,
    check: (c) => (findExtension(c, ExtensionOid.certificatePolicies) ? 'the root certificate carries a Certificate Policies extension' : undefined),
  }),
];
