import { signerErrors } from './signer-errors.js';

/** How the private key is written in a pull answer (STIR-SHAKEN.md §8: signers ask for all three). */
export const KEY_FORMATS = ['sec1', 'pkcs8', 'jwk'] as const;
export type KeyFormat = (typeof KEY_FORMATS)[number];

/** Longest long-poll a signer may ask for, in seconds. */
export const MAX_WAIT_SECONDS = 60;

export const CREDENTIALS_PATH_PREFIX = '/signer/v1/credentials/';

export interface PullTarget {
  readonly ocn: string;
  readonly keyFormat: KeyFormat;
  readonly waitSeconds: number;
}

// NECA OCN / RFC 8226 SPC: exactly four of [0-9A-Z], compared byte for byte.
const OCN_SEGMENT = /^[0-9A-Z]{4}$/;
const WAIT_VALUE = /^(0|[1-9][0-9]?)$/;

/**
 * Reads the OCN, key format and wait from the request target *as received* (before any decoding):
 * the OCN segment must be exactly four of [0-9A-Z], so `%38%31%38%48`, lowercase, full-width
 * lookalikes, trailing slashes or dot segments are refused rather than normalised into some
 * OCN. The query may hold `keyFormat` and `wait`, each at most once, with literal values; any
 * other parameter is refused, so no parameter can be mistaken for a different OCN.
 */
export function parsePullTarget(rawUrl: string): PullTarget {
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  if (!path.startsWith(CREDENTIALS_PATH_PREFIX)) throw signerErrors.ocnMalformed();
  const ocn = path.slice(CREDENTIALS_PATH_PREFIX.length);
  if (!OCN_SEGMENT.test(ocn)) throw signerErrors.ocnMalformed();

  let keyFormat: KeyFormat | undefined;
  let waitSeconds: number | undefined;
  if (query !== '') {
    for (const part of query.split('&')) {
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? undefined : part.slice(eq + 1);
      if (name === 'keyFormat') {
        if (keyFormat !== undefined) throw signerErrors.queryInvalid('keyFormat may be given once');
        if (!(KEY_FORMATS as readonly (string | undefined)[]).includes(value)) {
          throw signerErrors.queryInvalid(`keyFormat must be one of ${KEY_FORMATS.join(', ')}`);
        }
        keyFormat = value as KeyFormat;
      } else if (name === 'wait') {
        if (waitSeconds !== undefined) throw signerErrors.queryInvalid('wait may be given once');
        if (value === undefined || !WAIT_VALUE.test(value) || Number(value) > MAX_WAIT_SECONDS) {
          throw signerErrors.queryInvalid(`wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
        }
        waitSeconds = Number(value);
      } else {
        throw signerErrors.queryInvalid('the only query parameters are keyFormat and wait');
      }
    }
  }
  return { ocn, keyFormat: keyFormat ?? 'sec1', waitSeconds: waitSeconds ?? 0 };
}

/** The strong entity tag of one representation: the pair and the key format it is written in. */
export function entityTag(pairTag: string, keyFormat: KeyFormat): string {
  return `"${pairTag}.${keyFormat}"`;
}

/**
 * RFC 9110 §13.1.2: If-None-Match is `*` or a list of entity tags, compared weakly (a `W/`
 * prefix is ignored). True when the representation tagged `etag` is among them.
 */
export function noneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return true;
  const opaque = etag.slice(1, -1);
  for (const match of value.matchAll(/(?:W\/)?"([^"]*)"/g)) {
    if (match[1] === opaque) return true;
  }
  return false;
}
