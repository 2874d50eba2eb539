import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { fetchStiCr, isShakenError, type LintFinding, lintStiCrResponse, StiCrCitation } from '@app/shaken';

/** What fetching an x5u the way a verifier does found. */
export interface VerifierCheckResult {
  /** True when no finding is an error: verifiers can use the URL. */
  readonly ok: boolean;
  readonly checkedAt: Date;
  /** Errors and warnings, sorted by code; never body bytes. */
  readonly findings: readonly LintFinding[];
  /** HTTP status, when the server answered. */
  readonly status?: number;
  readonly elapsedMs?: number;
}

export interface VerifierCheckOptions {
  /** TLS trust for the fetch (system roots plus STI_TRUST.tlsCaPem); verification is never off. */
  readonly dispatcher: Dispatcher;
  /** The moment certificate validity is judged at. */
  readonly now: Date;
  readonly timeoutMs: number;
}

/**
 * Fetches `url` as an STI-VS would (one GET, redirects not followed, TLS verified, bounded in time
 * and size), runs the STI-CR response linter on the answer (URL, status, Content-Type, caching,
 * body: PEM, leaf first, each certificate issued by the next, under 8 KB, no private key), and
 * compares the served bytes with the chain we issued. A network failure is a finding too, so a
 * probe records it like any other reason verifiers would fail.
 */
export async function checkLikeAVerifier(url: string, issued: Uint8Array, options: VerifierCheckOptions): Promise<VerifierCheckResult> {
  const checkedAt = options.now;
  let response;
  try {
    response = await fetchStiCr(url, { dispatcher: options.dispatcher, timeoutMs: options.timeoutMs });
  } catch (error) {
    if (!isShakenError(error)) throw error;
    const code = error.code === 'STI_CR.TIMEOUT' ? 'e_sticr_timeout' : error.code === 'STI_CR.URL_INVALID' ? 'e_sticr_url_invalid' : 'e_sticr_unreachable';
    return { ok: false, checkedAt, findings: [finding(code, error.message, StiCrCitation.x5u)] };
  }
  const findings = lintStiCrResponse(response, { now: options.now });
  if (response.status === 200 && !response.truncated && !Buffer.from(response.body).equals(Buffer.from(issued))) {
    // STIR-SHAKEN.md §6: bytes behind an x5u never change; different bytes mean someone else's
    // chain, a stale cache, or a rewriting proxy, and verifiers would see that instead of ours.
    findings.push(
      finding(
        'e_sticr_body_mismatch',
        `the x5u serves ${response.body.byteLength} bytes (sha256 ${sha256Hex(response.body).slice(0, 16)}…) instead of the ${issued.byteLength} bytes issued (sha256 ${sha256Hex(issued).slice(0, 16)}…)`,
        StiCrCitation.x5u,
      ),
    );
    findings.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  }
  return {
    ok: findings.every((f) => f.severity !== 'error'),
    checkedAt,
    findings,
    status: response.status,
    elapsedMs: response.elapsedMs,
  };
}

function finding(code: string, message: string, citation: string): LintFinding {
  return { code, severity: code.startsWith('w_') ? 'warning' : 'error', message, citation };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
