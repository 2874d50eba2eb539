import type { StiCrKey } from './sti-cr-key.js';

/** RFC 8555 §9.1 media type; STIR-SHAKEN.md §6: the only Content-Type verifiers accept for an x5u. */
export const STI_CR_CONTENT_TYPE = 'application/pem-certificate-chain';
/** STIR-SHAKEN.md §6: verifiers cache an x5u for at least 24 h; a shorter max-age is an error. */
export const MIN_STI_CR_MAX_AGE_SECONDS = 86_400;

export type StiCrDriver = 'filesystem' | 's3';

export interface StiCrPutResult {
  /** The public x5u of the object. */
  readonly url: string;
  /** False when identical bytes were already stored under the key (an idempotent retry). */
  readonly created: boolean;
}

/**
 * Where published certificate chains live. One narrow interface for every driver: callers speak
 * opaque keys (`stiCrKeyFor`), every method re-validates them, and bytes behind a key never change.
 *
 * All methods reject with a `StorageError`: input problems (`UNSAFE_KEY`, `NOT_A_CHAIN`,
 * `PRIVATE_KEY_REFUSED`, `TOO_LARGE`, `IMMUTABLE_CONFLICT`) or store problems (`UNAVAILABLE`,
 * `ACCESS_DENIED`, `NOT_FOUND`, `REJECTED`; `retryable` tells them apart).
 */
export interface StiCrStore {
  readonly driver: StiCrDriver;
  /** The max-age (seconds, at least 86400) objects are served and uploaded with. */
  readonly cacheMaxAgeSeconds: number;
  /** The `Cache-Control` value for published objects, e.g. `public, max-age=86400`. */
  readonly cacheControl: string;

  /**
   * Stores a certificate chain under `key` once. Same bytes again: `{created: false}`. Different
   * bytes under an existing key: `STORAGE.IMMUTABLE_CONFLICT` (STIR-SHAKEN.md §6: verifiers cache
   * per URL, so bytes behind a published URL must never change).
   */
  putImmutable(key: StiCrKey, body: Uint8Array): Promise<StiCrPutResult>;
  /** The stored bytes, or null when nothing is stored under `key`. */
  get(key: StiCrKey): Promise<Uint8Array | null>;
  /** Removes the object; removing a missing object succeeds. */
  delete(key: StiCrKey): Promise<void>;
  /** The public x5u for `key` (no I/O). */
  urlFor(key: StiCrKey): string;
  /** Resolves when the store is reachable and usable; rejects with a typed StorageError otherwise. */
  healthCheck(): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

export function cacheControlFor(maxAgeSeconds: number): string {
  return `public, max-age=${maxAgeSeconds}`;
}
