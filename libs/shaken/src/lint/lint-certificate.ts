import { X509Certificate } from '@peculiar/x509';
import { ShakenError } from '../errors.js';
import { readCertificateFacts } from './certificate-facts.js';
import type { LintFinding } from './lint-rule.js';
import { looksLikePem, readPemBlocks } from './parse-certificates.js';
import { CERTIFICATE_RULES } from './rules/index.js';

export interface LintOptions {
  /**
   * The moment the lint runs (default: now). Rules that took effect after it are not applied, so
   * a run pinned to a past date judges by the rules in force then.
   */
  now?: Date;
}

// The linter reads the DER itself, so it does not need a library to accept the certificate first:
// broken certificates are exactly what it has to report on.
function toDer(cert: X509Certificate | Uint8Array | string): Uint8Array {
  if (cert instanceof X509Certificate) return new Uint8Array(cert.rawData);
  const text = typeof cert === 'string' ? cert : looksLikePem(cert) ? Buffer.from(cert).toString('latin1') : undefined;
  if (text === undefined) return cert as Uint8Array;
  const blocks = readPemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) throw new ShakenError('CERT.UNPARSEABLE', 'the input holds no PEM CERTIFICATE block');
  if (blocks.length > 1) throw new ShakenError('CERT.NOT_SINGLE', `lintCertificate takes one certificate; the input holds ${blocks.length}`);
  return blocks[0].der;
}

/**
 * Lints one certificate against the ATIS-1000080 / US SHAKEN CP profile. Each rule runs when the
 * certificate's notBefore is on or after the rule's effective date. Findings come sorted by code.
 * Throws ShakenError `CERT.UNPARSEABLE` when the input is not a certificate.
 */
export function lintCertificate(cert: X509Certificate | Uint8Array | string, opts: LintOptions = {}): LintFinding[] {
  const now = opts.now ?? new Date();
  const facts = readCertificateFacts(toDer(cert));
  const findings: LintFinding[] = [];
  for (const rule of CERTIFICATE_RULES) {
    if (rule.effective > now || facts.notBefore < rule.effective || !rule.appliesTo(facts)) continue;
    const message = rule.check(facts);
    if (message !== undefined) findings.push({ code: rule.code, severity: rule.severity, message, citation: rule.citation });
  }
  return findings.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}
