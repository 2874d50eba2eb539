import type { Tx } from '@app/db';
import { ProcurementError } from './procurement-errors.js';

/**
 * A key no new certificate may reuse (key rotation `never` notwithstanding): destroyed, or named
 * in a keyCompromise revocation (asked of us, or found on the STI-PA CRL) of any certificate that
 * holds it. RFC 5280 §5.3.1: keyCompromise means the private key must be presumed known to others,
 * so a certificate for it, however new, lets them sign as the OCN.
 */
export async function keyRetired(db: Pick<Tx, '$queryRaw'>, keyId: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ retired: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM private_keys k WHERE k.id = ${keyId}::uuid AND k.destroyed_at IS NOT NULL)
      OR EXISTS (SELECT 1 FROM certificates c WHERE c.key_id = ${keyId}::uuid AND c.revocation_reason = 'keyCompromise')
      OR EXISTS (
        SELECT 1 FROM certificates c JOIN certificate_events e ON e.certificate_id = c.id
        WHERE c.key_id = ${keyId}::uuid AND e.type = 'revocation.requested' AND e.details->>'reason' = 'keyCompromise') AS retired`;
  return rows[0]?.retired === true;
}

/**
 * The order-step guard: an order whose key was condemned after it started (it reuses the key,
 * rotation `never`, and a certificate of that key was then revoked for keyCompromise, by us or
 * on the STI-PA CRL) fails for good instead of certifying the key, or handing it to signers.
 * Checked at finalize (before the CA certifies the key) and again in the activation
 * transaction (the key may be condemned while the chain is downloaded, checked and published).
 */
export async function refuseRetiredKey(db: Pick<Tx, '$queryRaw'>, certificate: { readonly id: string; readonly keyId: string }, step: 'finalize' | 'activate'): Promise<void> {
  if (!(await keyRetired(db, certificate.keyId))) return;
  throw new ProcurementError(
    KEY_RETIRED,
    `certificate ${certificate.id} is not ${step === 'finalize' ? 'finalized' : 'activated'}: its key ${certificate.keyId} is retired (a certificate holding it was revoked for keyCompromise, or its revocation is pending); a renewal with a new key replaces it`,
    true,
    { keyId: certificate.keyId },
  );
}

/** Code of a refusal to use a retired key (the import's 422 and a failed order's lastErrorCode). */
export const KEY_RETIRED = 'KEY.RETIRED';
