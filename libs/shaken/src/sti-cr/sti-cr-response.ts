import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { LintFinding } from '../lint/index.js';
import { parseCertificates } from '../lint/parse-certificates.js';
import { StiCrCitation, stiCrFinding } from './sti-cr-findings.js';
import { lintStiCrUrl } from './sti-cr-url.js';

/** What an x5u fetch returned. */
export interface StiCrResponse {
  url: string;
  status: number;
  headers: Headers | Record<string, string | string[] | undefined>;
  body: Uint8Array | string;
  /** True when the fetch stopped reading at its size limit: `body` is only the beginning. */
  truncated?: boolean;
}

export interface StiCrLintOptions {
  /** The moment certificate validity is judged at (default: now). */
  now?: Date;
}

/** Verifiers keep a fetched certificate for at least 24 h. */
export const STI_CR_MIN_MAX_AGE_SECONDS = 86_400;
/** Bodies at or above this size are refused by some verifiers. */
export const STI_CR_MAX_BODY_BYTES = 8 * 1024;
/** Closer to expiry than this, a certificate needs replacing now (renewal has failed or lagged). */
const EXPIRY_WARNING_MS = 30 * 24 * 60 * 60 * 1000;
const CERTIFICATE_CHAIN_TYPE = 'application/pem-certificate-chain';
const PEM_CERTIFICATE_START = '-----BEGIN CERTIFICATE-----';

type HeaderBag = Map<string, string>;

function normalizeHeaders(headers: StiCrResponse['headers']): HeaderBag {
  const bag: HeaderBag = new Map();
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    // RFC 9110 §5.3: repeated fields combine into one comma-separated list.
    bag.set(key, bag.has(key) ? `${bag.get(key)}, ${value}` : value);
  };
  if (headers instanceof Headers) {
    headers.forEach((value, name) => add(name, value));
  } else {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) add(name, v);
    }
  }
  return bag;
}

/** RFC 9111 §5.2: directive name (lowercase) to argument (undefined when none). */
function cacheDirectives(value: string): Map<string, string | undefined> {
  const directives = new Map<string, string | undefined>();
  for (const part of value.split(',')) {
    const [name, ...arg] = part.trim().split('=');
    if (!name) continue;
    directives.set(name.trim().toLowerCase(), arg.length > 0 ? arg.join('=').trim().replace(/^"|"$/g, '') : undefined);
  }
  return directives;
}

function lintCaching(headers: HeaderBag): LintFinding[] {
  const findings: LintFinding[] = [];
  const cacheControl = headers.get('cache-control');
  if (cacheControl === undefined) {
    findings.push(
      stiCrFinding(
        'e_sticr_cache_control_missing',
        `no Cache-Control header; serve "public, max-age=${STI_CR_MIN_MAX_AGE_SECONDS}" or longer so verifiers cache the certificate`,
        StiCrCitation.caching,
      ),
    );
  } else {
    const directives = cacheDirectives(cacheControl);
    if (directives.has('private')) {
      findings.push(stiCrFinding('e_sticr_cache_control_private', `Cache-Control "${cacheControl}" marks the certificate private`, StiCrCitation.caching));
    }
    if (directives.has('no-store')) {
      findings.push(stiCrFinding('e_sticr_cache_control_no_store', `Cache-Control "${cacheControl}" forbids storing the certificate`, StiCrCitation.caching));
    }
    if (directives.has('no-cache')) {
      findings.push(
        stiCrFinding('e_sticr_cache_control_no_cache', `Cache-Control "${cacheControl}" makes verifiers revalidate on every call`, StiCrCitation.caching),
      );
    }
    const maxAge = directives.get('max-age');
    if (maxAge === undefined || !/^\d+$/.test(maxAge)) {
      findings.push(stiCrFinding('e_sticr_cache_control_max_age', `Cache-Control "${cacheControl}" has no max-age`, StiCrCitation.caching));
    } else if (Number(maxAge) < STI_CR_MIN_MAX_AGE_SECONDS) {
      findings.push(
        stiCrFinding(
          'e_sticr_cache_control_max_age',
          `Cache-Control max-age=${maxAge} is shorter than ${STI_CR_MIN_MAX_AGE_SECONDS} seconds (24 h)`,
          StiCrCitation.caching,
        ),
      );
    }
    if (!directives.has('public')) {
      findings.push(stiCrFinding('w_sticr_cache_control_public', `Cache-Control "${cacheControl}" does not say public`, StiCrCitation.caching));
    }
  }
  const pragma = headers.get('pragma');
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) {
    findings.push(stiCrFinding('e_sticr_pragma_no_cache', 'the response sends "Pragma: no-cache", which HTTP/1.0 caches treat as no-cache', StiCrCitation.pragma));
  }
  return findings;
}

function lintContentType(headers: HeaderBag): LintFinding[] {
  const contentType = headers.get('content-type');
  if (contentType === undefined) {
    return [stiCrFinding('e_sticr_content_type', `no Content-Type header; it shall be ${CERTIFICATE_CHAIN_TYPE}`, StiCrCitation.contentType)];
  }
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  return mediaType === CERTIFICATE_CHAIN_TYPE
    ? []
    : [stiCrFinding('e_sticr_content_type', `Content-Type is "${contentType}"; it shall be ${CERTIFICATE_CHAIN_TYPE}`, StiCrCitation.contentType)];
}

/** PEM labels of private keys (RFC 7468 §10, §11, and the SEC1 / PKCS#1 legacy labels). */
const PRIVATE_KEY_LABEL = /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----/g;

function lintSecrecy(text: string): LintFinding[] {
  const labels = [...new Set(Array.from(text.matchAll(PRIVATE_KEY_LABEL), (m) => m[1]))];
  if (labels.length === 0) return [];
  // The message names the block type only: the key itself must not travel further (logs, reports).
  return [
    stiCrFinding(
      'e_sticr_private_key_exposed',
      `the response body contains a private key (${labels.join(', ')}); remove it and treat the key as compromised: revoke and replace the certificate`,
      StiCrCitation.secrecy,
    ),
  ];
}

function describe(cert: NodeX509Certificate, index: number): string {
  return `certificate #${index + 1} (${cert.subject.replace(/\n/g, ', ')})`;
}

function lintChain(text: string, now: Date): LintFinding[] {
  let certs: NodeX509Certificate[];
  try {
    certs = parseCertificates(text).map((c) => new NodeX509Certificate(new Uint8Array(c.rawData)));
  } catch (err) {
    return [stiCrFinding('e_sticr_body_unparseable', `the certificates in the body cannot be read: ${(err as Error).message}`, StiCrCitation.x5u)];
  }
  const findings: LintFinding[] = [];
  const [leaf] = certs;
  if (leaf.ca) {
    findings.push(stiCrFinding('e_sticr_leaf_not_first', `${describe(leaf, 0)} is a CA certificate; the signing (end-entity) certificate comes first`, StiCrCitation.x5u));
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const [child, parent] = [certs[i], certs[i + 1]];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      findings.push(stiCrFinding('e_sticr_chain_order', `${describe(child, i)} is not issued by ${describe(parent, i + 1)}`, StiCrCitation.x5u));
    }
  }
  if (certs.length === 1 && !leaf.ca && !leaf.verify(leaf.publicKey)) {
    findings.push(
      stiCrFinding(
        'w_sticr_chain_incomplete',
        'only the end-entity certificate is served; verifiers that do not hold the intermediate cannot build the path',
        StiCrCitation.x5u,
      ),
    );
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter < now) {
    findings.push(stiCrFinding('e_sticr_leaf_expired', `the end-entity certificate expired ${notAfter.toISOString()}`, StiCrCitation.validity));
  } else if (notBefore > now) {
    findings.push(stiCrFinding('e_sticr_leaf_not_yet_valid', `the end-entity certificate is valid from ${notBefore.toISOString()}`, StiCrCitation.validity));
  } else if (notAfter.getTime() - now.getTime() < EXPIRY_WARNING_MS) {
    findings.push(stiCrFinding('w_sticr_leaf_expiring', `the end-entity certificate expires ${notAfter.toISOString()}, within 30 days`, StiCrCitation.validity));
  }
  return findings;
}

function lintBody(body: Uint8Array | string, truncated: boolean, now: Date): LintFinding[] {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('latin1');
  const findings: LintFinding[] = [...lintSecrecy(text)];
  if (truncated || bytes.length >= STI_CR_MAX_BODY_BYTES) {
    const size = truncated ? `more than ${bytes.length} bytes` : `${bytes.length} bytes`;
    findings.push(stiCrFinding('e_sticr_body_too_large', `the body is ${size}; keep it under ${STI_CR_MAX_BODY_BYTES} bytes`, StiCrCitation.size));
  }
  if (!text.startsWith(PEM_CERTIFICATE_START)) {
    // Echo the first line only when it is a PEM boundary: anything else could be data worth keeping private.
    const firstLine = text.split(/\r?\n/, 1)[0];
    const seen = /^-----[A-Z0-9 ]+-----$/.test(firstLine) ? `"${firstLine}"` : 'something else';
    findings.push(stiCrFinding('e_sticr_body_not_pem', `the body starts with ${seen}, not "${PEM_CERTIFICATE_START}"`, StiCrCitation.contentType));
  }
  if (!truncated) findings.push(...lintChain(text, now));
  return findings;
}

/**
 * Lints what a verifier gets from an x5u: the URL itself (lintStiCrUrl), the status (200, no
 * redirect), Content-Type, caching headers, and a body of PEM certificates leaf first, each issued
 * by the next, small, and free of private keys. Findings come sorted by code.
 */
export function lintStiCrResponse(res: StiCrResponse, opts: StiCrLintOptions = {}): LintFinding[] {
  const now = opts.now ?? new Date();
  const headers = normalizeHeaders(res.headers);
  const findings = lintStiCrUrl(res.url);
  if (res.status >= 300 && res.status < 400) {
    const location = headers.get('location');
    findings.push(
      stiCrFinding(
        'e_sticr_redirect',
        `the x5u answers ${res.status}${location ? ` redirecting to ${location}` : ''}; verifiers do not follow redirects`,
        StiCrCitation.redirect,
      ),
    );
  } else if (res.status !== 200) {
    findings.push(stiCrFinding('e_sticr_status', `the x5u answers ${res.status}; it shall answer 200 with the certificate chain`, StiCrCitation.status));
  } else {
    findings.push(...lintContentType(headers), ...lintCaching(headers), ...lintBody(res.body, res.truncated ?? false, now));
  }
  // A leaked key matters whatever the status: check error and redirect pages too.
  if (res.status !== 200) findings.push(...lintSecrecy(typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString('latin1')));
  return findings.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}
