import { FilesystemStiCrStore } from './filesystem/filesystem-sti-cr-store.js';
import { S3StiCrStore } from './s3/s3-sti-cr-store.js';
import type { StiCrStore } from './sti-cr-store.js';
import { parseStiCrStoreConfig, type StiCrStoreConfig } from './sti-cr-store-config.js';

/**
 * The STI-CR store for a configuration, validated here (STORAGE.CONFIG_INVALID names every bad
 * field). Does no I/O: call `healthCheck()` to find out whether the store is usable.
 */
export function createStiCrStore(config: StiCrStoreConfig): StiCrStore {
  const resolved = parseStiCrStoreConfig(config);
  return resolved.driver === 'filesystem' ? new FilesystemStiCrStore(resolved) : new S3StiCrStore(resolved);
}
