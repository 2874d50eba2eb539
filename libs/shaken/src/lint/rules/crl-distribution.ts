import { type CertificateFacts, findExtension } from '../certificate-facts.js';
import { UniversalTag, children, describeTag, expectUniversal, isContext, readSingleTlv } from '../der.js';
import { EffectiveDate } from '../effective-dates.js';
import { type CertificateRule, endEntityAndCaRules, errorRule } from '../lint-rule.js';
import { ExtensionOid, ShakenPolicyOid } from '../oids.js';
import { Citation } from './citations.js';

/**
 * v004/v005: the single DistributionPoint holds a distributionPoint (the STI-PA CRL URL) and a
 * cRLIssuer (the CRL issuer's DN). Returns what is wrong, or undefined.
 */
function crlDistributionStructProblem(value: Uint8Array): string | undefined {
  let points;
  try {
    points = children(expectUniversal(readSingleTlv(value), UniversalTag.Sequence, 'CRLDistributionPoints'));
  } catch (err) {
    return `the CRL Distribution Points extension cannot be decoded: ${(err as Error).message}`;
  }
  if (points.length !== 1) return `the CRL Distribution Points extension holds ${points.length} DistributionPoints; it shall hold one`;
  let fields;
  try {
    fields = children(expectUniversal(points[0], UniversalTag.Sequence, 'DistributionPoint'));
  } catch (err) {
    return `the DistributionPoint cannot be decoded: ${(err as Error).message}`;
  }
  const [name, issuer, ...rest] = fields;
  if (!name || !isContext(name, 0) || !name.constructed) return 'the DistributionPoint has no distributionPoint name';
  if (!issuer) return 'the DistributionPoint has no cRLIssuer field';
  if (!isContext(issuer, 2) || !issuer.constructed) return `the DistributionPoint holds ${describeTag(issuer)} where the cRLIssuer belongs`;
  if (rest.length > 0) return 'the DistributionPoint holds fields after the cRLIssuer';
  return undefined;
}

function hasCrlDistribution(c: CertificateFacts): boolean {
  return findExtension(c, ExtensionOid.crlDistributionPoints) !== undefined;
}

/** CRL Distribution Points rules: ATIS-1000080 §6.4.1. */
export const crlDistributionRules: CertificateRule[] = [
  // v003: "a CRL Distribution Point extension with a CRL Distribution Point Name identifying the
  // HTTP URL reference to the file containing the SHAKEN CRL hosted by the STI-PA".
  ...endEntityAndCaRules(
    'e_atis_ext_crl_distribution',
    Citation.atisV003,
    { endEntity: EffectiveDate.atisV003Leaf, ca: EffectiveDate.atisV003 },
    {
      appliesTo: (c) => !c.isRoot,
      check: (c) => {
        if (!hasCrlDistribution(c)) return 'the certificate has no CRL Distribution Points extension';
        if (c.crlDistributionUris.length !== 1) {
          return `the CRL Distribution Points name ${c.crlDistributionUris.length} URLs; a single STI-PA CRL URL is required`;
        }
        const [url] = c.crlDistributionUris;
        return url.startsWith('http') ? undefined : `the CRL distribution point "${url}" is not an HTTP URL`;
      },
    },
  ),
  // v004: "... and a cRLIssuer field that contains the DN of the issuer of the CRL." The reference
  // linter's published results hold certificates to this only when they assert CP 1.4; CP 1.3-era
  // certificates without a cRLIssuer were accepted, so the same scope keeps reports comparable.
  ...endEntityAndCaRules(
    'e_atis_ext_crl_distribution_struct',
    Citation.atisV004,
    { endEntity: EffectiveDate.atisV004Leaf, ca: EffectiveDate.atisV004 },
    {
      appliesTo: (c) => hasCrlDistribution(c) && !c.isRoot && c.policyOids.includes(ShakenPolicyOid.cp1_4),
      check: (c) => crlDistributionStructProblem(findExtension(c, ExtensionOid.crlDistributionPoints)!.value),
    },
  ),
  // v005: "STI root certificates shall not contain a CRL Distribution Points extension."
  errorRule('e_atis_ext_crl_distribution_root', Citation.atisV005, EffectiveDate.atisV005, {
    appliesTo: (c) => c.isRoot,
    check: (c) => (hasCrlDistribution(c) ? 'the root certificate carries a CRL Distribution Points extension' : undefined),
  }),
];
