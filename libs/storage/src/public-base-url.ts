import { isLoopbackHost } from '@app/local-infra';
import type { StiCrKey } from './sti-cr-key.js';

/**
 * Checks the base URL an x5u is built from. Returns the problem in words, or undefined when fine.
 *
 * STIR-SHAKEN.md §6 (what ATIS-1000074 verifiers accept): https on port 443 or 8443, no userinfo,
 * no query, no fragment. Plain http and other ports are allowed only on loopback hosts, where the
 * service and its tests run; no verifier would ever fetch such a URL from outside.
 */
export function publicBaseUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'is required (absolute URL)';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain userinfo';
  if (url.search !== '' || value.includes('?')) return 'must not contain a query';
  if (url.hash !== '' || value.includes('#')) return 'must not contain a fragment';
  if (isLoopbackHost(url.hostname)) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
    return undefined;
  }
  if (url.protocol !== 'https:') return 'must use https (verifiers fetch x5u over TLS only)';
  if (url.port !== '' && url.port !== '8443') return 'must use port 443 or 8443 (verifiers refuse other ports)';
  return undefined;
}

/** The base URL without trailing slashes, ready for `x5uFor`. Assumes `publicBaseUrlProblem` passed. */
export function normalizePublicBaseUrl(value: string): string {
  return new URL(value).toString().replace(/\/+$/, '');
}

/** The x5u of `key` under `base`; key characters never need percent-encoding (sti-cr-key.ts). */
export function x5uFor(base: string, key: StiCrKey): string {
  return `${base}/${key}`;
}
