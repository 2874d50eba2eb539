import type { Tx } from '@app/db';

/** First key of the two-key advisory locks that claim certificates for renewal ("RENW"). */
export const RENEWAL_LOCK_CLASS = 0x52454e57;

/**
 * Claims `certificateId` for renewal for the rest of the transaction `tx`; false when another
 * process holds the claim. Two processes therefore never start a renewal of the same certificate
 * at the same time, and whoever claims it next sees the renewal the previous holder committed.
 *
 * Why an advisory lock and not `SELECT ... FOR UPDATE SKIP LOCKED` on the certificate row: the
 * renewal is started by procurement in its own transaction, which locks the OCN row and
 * references this certificate (renewed_from_id), while an activation elsewhere locks the OCN
 * and then updates this certificate (supersede). A row lock held here across that call could
 * wait on a transaction that waits on us, which PostgreSQL cannot see as a deadlock because the
 * two are joined by our code. An advisory lock conflicts with nothing but another claim.
 * (`hashtext` collisions only make two certificates take turns.)
 */
export async function tryClaimForRenewal(tx: Tx, certificateId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ claimed: boolean }[]>`
    SELECT pg_try_advisory_xact_lock(${RENEWAL_LOCK_CLASS}::int, hashtext(${certificateId})) AS claimed`;
  return rows[0]?.claimed === true;
}
