import type { Tx } from '@app/db';
import { isStiPaError, StiPaErrorCode } from '@app/sti-pa';
import type { AuditActor, AuditService } from '../audit/audit.service.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';

/**
 * The STI-PA said no for this provider and OCN (no current 499-A, no RMD listing, an OCN the API
 * user does not hold). Outages, refused logins and tokens that fail verification are not refusals.
 */
export function isTokenRefusal(error: unknown): error is Error & { code: string } {
  return isStiPaError(error) && (error.code === StiPaErrorCode.FORBIDDEN_OCN || error.code === StiPaErrorCode.REQUEST_REJECTED);
}

export interface TokenRefusal {
  readonly providerId: string;
  readonly ocn: string;
  readonly code: string;
  readonly reason: string;
  readonly at: Date;
  readonly actor: AuditActor;
}

/** What an operator does about a refusal (shown by the token probe and by readiness). */
export const TOKEN_REFUSAL_NEXT_STEP =
  'the STI-PA refused a token: check the Form 499-A filing, the RMD listing and that the API user holds this OCN in the STI-PA portal';

/**
 * A refused OCN is asked again this often (the daily recheck, spc-token-watch.ts), and within it
 * readiness shows the last refusal instead of asking: the STI-PA is rate-sensitive, and its
 * records (499-A, RMD, the API user's OCNs) change on the scale of days, not page loads.
 */
export const REFUSED_RECHECK_MS = 24 * 3_600_000;

/**
 * Flags the OCN (Ocn.tokenRefusedAt, the daily recheck's clock) and, once per refusal episode of
 * that OCN, emits provider.token_refused (data.ocn names it) to the audit log and webhooks: an
 * OCN refused again on every order attempt or probe is not news. Refusals are per OCN (the
 * STI-PA refuses an OCN the API user does not hold and grants the provider's others), so the
 * episode is too: a token for another OCN does not end it. It ends when a token is issued for
 * this OCN (clearTokenRefusal). Shared by procurement (spc-tokens.ts) and the token job
 * (spc-token-probe.ts), so an order and the probe never both announce one episode.
 *
 * Flagging is not suspending: a refusal is not proof that the STI-GA revoked the provider's
 * token, so signing goes on until an operator suspends it (signing-suspension.service.ts).
 */
export async function flagTokenRefusal(tx: Tx, events: LifecycleEvents, refusal: TokenRefusal): Promise<{ newEpisode: boolean }> {
  const ocn = { providerId: refusal.providerId, code: refusal.ocn };
  const data = { tokenRefusedAt: refusal.at, tokenRefusalCode: refusal.code, tokenRefusedReason: refusal.reason };
  // Conditional on "not flagged": of two refusals committing at once, one opens the episode
  // (the other waits on the row lock, then finds it flagged and only refreshes it).
  const { count } = await tx.ocn.updateMany({ where: { ...ocn, tokenRefusedAt: null }, data });
  if (count === 0) {
    await tx.ocn.updateMany({ where: ocn, data });
    return { newEpisode: false };
  }
  await events.emit(tx, {
    type: 'provider.token_refused',
    subject: { type: 'provider', id: refusal.providerId },
    data: { ocn: refusal.ocn, code: refusal.code, reason: refusal.reason },
    actor: refusal.actor,
  });
  return { newEpisode: true };
}

/** A token was issued for this OCN: its refusal episode (if any) ends, audited, so its next refusal is news again. */
export async function clearTokenRefusal(tx: Tx, audit: AuditService, providerId: string, ocn: string, actor: AuditActor): Promise<void> {
  const cleared = await tx.ocn.updateMany({
    where: { providerId, code: ocn, tokenRefusedAt: { not: null } },
    data: { tokenRefusedAt: null, tokenRefusalCode: null, tokenRefusedReason: null },
  });
  if (cleared.count > 0) await audit.record(actor, { action: 'provider.token_refusal_cleared', subjectType: 'provider', subjectId: providerId, details: { ocn } }, tx);
}
