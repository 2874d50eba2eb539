// @app/keystore: secrets at rest (AES-256-GCM under a key-encryption key) and key custody.
export { KeystoreError, isKeystoreError, type KeystoreErrorCode } from './errors.js';
export { Kek, KEK_ID_BYTES, type KekRing } from './kek.js';
export { Keystore } from './keystore.js';
export { loadKek, type LoadKekOptions } from './load-kek.js';
export { SoftwareKeyCustody, type CustodiedKey, type CustodyKind, type KeyCustody, type KeyReference } from './key-custody.js';
