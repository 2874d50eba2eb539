import type { LintFinding } from '../lint/index.js';

/**
 * Where each STI-CR requirement comes from. "verifier practice" marks limits no standard states but
 * deployed verifiers (Asterisk, Kamailio, secsipid, ATIS-1000074 implementations) enforce.
 */
export const StiCrCitation = {
  /** x5u: "an HTTP GET request to retrieve the certificate MUST use TLS"; leaf first, each next one certifies the previous. */
  x5u: 'RFC 7515 §4.1.5',
  port: 'verifier practice (ports 443 and 8443)',
  redirect: 'RFC 9110 §15.4, verifier practice (redirects are not followed)',
  status: 'RFC 9110 §15.3.1',
  contentType: 'RFC 8555 §9.1',
  size: 'verifier practice (8 KB)',
  caching: 'RFC 9111 §5.2.2, ATIS-1000074 (verifiers cache x5u for at least 24 h)',
  pragma: 'RFC 9111 §5.4',
  secrecy: 'US SHAKEN CP §6.2 (private key protection)',
  validity: 'RFC 5280 §4.1.2.5',
} as const;

/** A finding; `w_` codes are warnings, all others errors. */
export function stiCrFinding(code: string, message: string, citation: string): LintFinding {
  return { code, severity: code.startsWith('w_') ? 'warning' : 'error', message, citation };
}
