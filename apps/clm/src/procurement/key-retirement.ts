import type { Tx } from '@app/db';

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
