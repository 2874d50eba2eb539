import { createHash } from 'node:crypto';
import { assertPublishableChain } from './sti-cr-body.js';
import { isSafeStiCrKey } from './sti-cr-key.js';
import { STI_CR_CONTENT_TYPE, type StiCrStore } from './sti-cr-store.js';
import { isStorageError } from './storage-error.js';

export interface StiCrRequest {
  /** HTTP method; default GET. */
  readonly method?: string;
  /** The request's If-None-Match header, if any. */
  readonly ifNoneMatch?: string;
}

export interface StiCrResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Empty for HEAD, 304 and errors without a body. */
  readonly body: Uint8Array;
}

const EMPTY = new Uint8Array(0);
// Error answers must not be cached by verifiers or CDNs for the 24 h a good answer is cached.
const ERROR_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;

/**
 * Framework-free handler for `GET|HEAD <mount>/<key>`: the service mounts it at `/sti-cr/*` and
 * passes the rest of the path as `rawKey`, decoded or not: an admitted key holds no `%`, so
 * decoding never changes it, and whatever decodes to `..`, `/` or NUL is refused either way.
 *
 * STIR-SHAKEN.md §6 (ATIS-1000074 verifiers): 200 with `Content-Type: application/pem-certificate-chain`,
 * `Cache-Control: public, max-age>=86400`, and never a redirect (verifiers don't follow them): a key
 * that is not exactly one `stiCrKeyFor` produces (trailing slash, percent-encoding, `..`) is a 404.
 * A strong ETag lets caches revalidate with If-None-Match.
 */
export async function serveStiCr(store: StiCrStore, rawKey: string, request: StiCrRequest = {}): Promise<StiCrResponse> {
  const method = (request.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, headers: { ...ERROR_HEADERS, Allow: 'GET, HEAD', 'Content-Length': '0' }, body: EMPTY };
  }
  if (!isSafeStiCrKey(rawKey)) return notFound();

  let bytes: Uint8Array | null;
  try {
    bytes = await store.get(rawKey);
  } catch (error) {
    if (isStorageError(error) && error.retryable) {
      return { status: 503, headers: { ...ERROR_HEADERS, 'Retry-After': '30', 'Content-Length': '0' }, body: EMPTY };
    }
    throw error;
  }
  if (bytes === null) return notFound();
  // STIR-SHAKEN.md §6: never publish a private key. Bytes placed behind the store's back are
  // re-checked here, so the service refuses to serve them even if putImmutable was bypassed.
  try {
    assertPublishableChain(bytes);
  } catch {
    return { status: 500, headers: { ...ERROR_HEADERS, 'Content-Length': '0' }, body: EMPTY };
  }

  // RFC 9110 §8.8.3: a strong validator, derived from the exact bytes.
  const etag = `"${createHash('sha256').update(bytes).digest('base64url')}"`;
  const cacheHeaders = { 'Cache-Control': store.cacheControl, ETag: etag, 'X-Content-Type-Options': 'nosniff' };
  if (request.ifNoneMatch !== undefined && etagMatches(request.ifNoneMatch, etag)) {
    return { status: 304, headers: cacheHeaders, body: EMPTY };
  }
  return {
    status: 200,
    headers: { ...cacheHeaders, 'Content-Type': STI_CR_CONTENT_TYPE, 'Content-Length': String(bytes.byteLength) },
    body: method === 'HEAD' ? EMPTY : bytes,
  };
}

function notFound(): StiCrResponse {
  return { status: 404, headers: { ...ERROR_HEADERS, 'Content-Length': '0' }, body: EMPTY };
}

/** RFC 9110 §13.1.2: If-None-Match uses weak comparison; `*` matches any current representation. */
function etagMatches(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((candidate) => candidate.trim())
    .some((candidate) => candidate === '*' || candidate.replace(/^W\//, '') === etag);
}
