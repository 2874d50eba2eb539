export * from './storage-error.js';
export * from './sti-cr-key.js';
export { assertPublishableChain, MAX_STI_CR_BODY_BYTES } from './sti-cr-body.js';
export * from './sti-cr-store.js';
export type {
  FilesystemStiCrStoreConfig,
  S3Credentials,
  S3StiCrStoreConfig,
  StiCrStoreConfig,
} from './sti-cr-store-config.js';
export { parseStiCrStoreConfig } from './sti-cr-store-config.js';
export { createStiCrStore } from './create-sti-cr-store.js';
export * from './serve-sti-cr.js';
