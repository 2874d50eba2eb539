import type { LintFinding } from '../lint/index.js';
import { StiCrCitation, stiCrFinding } from './sti-cr-findings.js';

/** Ports verifiers reach an STI-CR on. */
const STI_CR_PORTS = new Set(['443', '8443']);

/**
 * Lints an x5u URL the way verifiers will use it: https, port 443 or 8443, and nothing a cache key
 * or a logging proxy could mangle (no userinfo, query or fragment).
 */
export function lintStiCrUrl(url: string): LintFinding[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [stiCrFinding('e_sticr_url_invalid', 'the x5u is not an absolute URL', StiCrCitation.x5u)];
  }
  const findings: LintFinding[] = [];
  if (parsed.protocol !== 'https:') {
    findings.push(stiCrFinding('e_sticr_url_scheme', `the x5u scheme is "${parsed.protocol.replace(/:$/, '')}"; verifiers fetch certificates over https only`, StiCrCitation.x5u));
  } else {
    // URL drops the default port, so an empty port is 443.
    const port = parsed.port || '443';
    if (!STI_CR_PORTS.has(port)) findings.push(stiCrFinding('e_sticr_url_port', `the x5u uses port ${port}; verifiers expect 443 or 8443`, StiCrCitation.port));
  }
  if (parsed.username || parsed.password) {
    findings.push(stiCrFinding('e_sticr_url_userinfo', 'the x5u carries user information; the STI-CR must be publicly readable without credentials', StiCrCitation.x5u));
  }
  if (parsed.search) {
    findings.push(stiCrFinding('e_sticr_url_query', `the x5u has a query string ("${parsed.search}"); use a plain path per certificate`, StiCrCitation.x5u));
  }
  if (parsed.hash) findings.push(stiCrFinding('e_sticr_url_fragment', `the x5u has a fragment ("${parsed.hash}")`, StiCrCitation.x5u));
  return findings;
}
