import { randomUUID } from 'node:crypto';
import type { SpcToken } from '@app/db';
import type { Keystore } from '@app/keystore';
import { spcTokenAad } from '../common/sealed-secrets.js';
import { ProcurementError } from './procurement-errors.js';

/**
 * SPC tokens are bearer credentials: whoever holds one can answer the tkauth-01 challenge for the
 * OCN until it expires (RFC 9447). Stored sealed like the STI-PA password, with AAD bound to the
 * row, so the row's id is chosen here rather than by the database.
 */
export function sealSpcToken(keystore: Keystore, jws: string): { id: string; tokenSealed: Uint8Array<ArrayBuffer> } {
  const id = randomUUID();
  return { id, tokenSealed: new Uint8Array(keystore.seal(Buffer.from(jws, 'utf8'), spcTokenAad(id))) };
}

/** The compact JWS of a stored token, for the one request that sends it. */
export function openSpcToken(keystore: Keystore, token: Pick<SpcToken, 'id' | 'tokenSealed'>): string {
  if (!token.tokenSealed) {
    // Stored in clear before sealing existed; the migration erased it and marked the row expired.
    throw new ProcurementError('SPC_TOKEN.DISCARDED', `SPC token ${token.id} was erased when tokens began to be sealed; a fresh one is needed`, false);
  }
  return keystore.open(token.tokenSealed, spcTokenAad(token.id)).toString('utf8');
}
