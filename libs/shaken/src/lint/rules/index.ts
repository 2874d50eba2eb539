import type { CertificateRule } from '../lint-rule.js';
import { certificatePolicyRules } from './certificate-policies.js';
import { crlDistributionRules } from './crl-distribution.js';
import { extensionRules } from './extensions.js';
import { fieldRules } from './fields.js';
import { keyIdentifierRules } from './key-identifiers.js';
import { subjectRules } from './subject.js';
import { tnAuthListRules } from './tn-auth-list.js';

/** Every rule of the SHAKEN certificate profile, plus the RFC 5280 checks the reference reports with it. */
export const CERTIFICATE_RULES: readonly CertificateRule[] = [
  ...fieldRules,
  ...subjectRules,
  ...extensionRules,
  ...keyIdentifierRules,
  ...tnAuthListRules,
  ...crlDistributionRules,
  ...certificatePolicyRules,
];
