/**
 * The SHAKEN certificate linter: ATIS-1000080 §6.4.1 and US SHAKEN CP 1.3/1.4, reported with the
 * stable lint codes of the public reference linter (martinisecurity/zlint v3/lints/shaken) plus
 * the RFC 5280 checks it reports alongside, so results compare line for line.
 */
export { lintCertificate, type LintOptions } from './lint-certificate.js';
export { parseCertificates } from './parse-certificates.js';
export type { CertificateRule, LintFinding, LintSeverity } from './lint-rule.js';
export { CERTIFICATE_RULES as CERTIFICATE_LINT_RULES } from './rules/index.js';
