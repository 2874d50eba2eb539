import type { CertificateFacts } from './certificate-facts.js';

export type LintSeverity = 'error' | 'warning';

/** One problem found in a certificate. `code` is stable and matches the public reference linter. */
export interface LintFinding {
  code: string;
  severity: LintSeverity;
  message: string;
  /** The rule's source, e.g. "ATIS-1000080 v005 §6.4.1". */
  citation: string;
}

/**
 * One lint. It runs when the certificate's notBefore is on or after `effective` and `appliesTo`
 * holds; `check` returns a message describing the violation, or undefined when the certificate
 * complies.
 */
export interface CertificateRule {
  code: string;
  severity: LintSeverity;
  citation: string;
  effective: Date;
  appliesTo(cert: CertificateFacts): boolean;
  check(cert: CertificateFacts): string | undefined;
}

type RuleBody = Pick<CertificateRule, 'check'> & Partial<Pick<CertificateRule, 'appliesTo'>>;

export function errorRule(code: string, citation: string, effective: Date, body: RuleBody): CertificateRule {
  return { code, severity: 'error', citation, effective, appliesTo: body.appliesTo ?? (() => true), check: body.check };
}

/** A SHOULD-level requirement; the reference linter marks these with a `w_` code. */
export function warningRule(code: string, citation: string, effective: Date, body: RuleBody): CertificateRule {
  return { ...errorRule(code, citation, effective, body), severity: 'warning' };
}

/**
 * The reference linter states most requirements twice: `<code>` for end-entity certificates,
 * effective later, and `<code>_ca` for root and intermediate certificates.
 */
export function endEntityAndCaRules(
  code: string,
  citation: string,
  dates: { endEntity: Date; ca: Date },
  body: RuleBody,
): CertificateRule[] {
  const extra = body.appliesTo ?? (() => true);
  return [
    errorRule(code, citation, dates.endEntity, { appliesTo: (c) => !c.isCa && extra(c), check: body.check }),
    errorRule(`${code}_ca`, citation, dates.ca, { appliesTo: (c) => c.isCa && extra(c), check: body.check }),
  ];
}
