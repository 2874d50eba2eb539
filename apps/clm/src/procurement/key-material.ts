import { createHash, randomUUID, webcrypto } from 'node:crypto';
import type { KeyPurpose, PrivateKey } from '@app/db';
import type { Keystore } from '@app/keystore';
import { generateP256KeyPair, importSpki, spkiDer, type CryptoKeyPair } from '@app/shaken';
import { privateKeyAad } from '../common/sealed-secrets.js';
import { ProcurementError } from './procurement-errors.js';

/** The columns of a new private_keys row: the key exists only sealed from here on. */
export interface SealedKeyRow {
  readonly id: string;
  readonly purpose: KeyPurpose;
  readonly algorithm: 'ES256';
  readonly publicKeySpki: Uint8Array<ArrayBuffer>;
  readonly fingerprint: string;
  readonly sealed: Uint8Array<ArrayBuffer>;
  readonly kekId: string;
  readonly custody: 'software';
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * A new P-256 key (ATIS-1000080 v005 §6.4.1: SHAKEN keys are ECDSA P-256) sealed as PKCS#8
 * under the current KEK with its row id as additional data, so the blob opens only for that row.
 * The id is chosen here because the AAD must be known before the row exists.
 */
export async function newSealedP256Key(keystore: Keystore, purpose: KeyPurpose): Promise<SealedKeyRow> {
  const id = randomUUID();
  const pair = await generateP256KeyPair(true);
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  try {
    const spki = await spkiDer(pair.publicKey);
    return {
      id,
      purpose,
      algorithm: 'ES256',
      publicKeySpki: new Uint8Array(spki),
      fingerprint: createHash('sha256').update(spki).digest('hex'),
      sealed: new Uint8Array(keystore.sealPrivateKey(pkcs8, privateKeyAad(id))),
      kekId: keystore.currentKekId,
      custody: 'software',
    };
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * The stored key as a WebCrypto pair for signing (ACME requests, the CSR). The private half is
 * imported non-extractable: nothing downstream can export it again.
 */
export async function openKeyPair(keystore: Keystore, row: PrivateKey): Promise<CryptoKeyPair> {
  if (row.destroyedAt !== null) throw new ProcurementError('KEY.DESTROYED', `key ${row.id} was destroyed`, true);
  if (row.custody !== 'software' || row.sealed === null) {
    throw new ProcurementError('KEY.CUSTODY_UNSUPPORTED', `key ${row.id} is in ${row.custody} custody, which procurement cannot use yet`, true);
  }
  const pkcs8 = keystore.openPrivateKeyDer(row.sealed, privateKeyAad(row.id));
  try {
    const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']);
    const publicKey = await importSpki(row.publicKeySpki);
    return { privateKey, publicKey };
  } finally {
    pkcs8.fill(0);
  }
}
