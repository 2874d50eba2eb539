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

/**
 * Flags the provider (Provider.tokenRefusedAt, the daily recheck's clock) and, once per refusal
 * episode, emits provider.token_refused to the audit log and webhooks: a provider refused again on
 * every order attempt or probe is not news. The episode ends when a token is issued
 * (clearTokenRefusal). Shared by procurement (spc-tokens.ts) and the token job
 * (spc-token-probe.ts), so an order and the probe never both announce one episode.
 *
 * Flagging is not suspending: a refusal is not proof that the STI-GA revoked the provider's
 * token, so signing goes on until an operator suspends it (signing-suspension.service.ts).
 */
export async function flagTokenRefusal(tx: Tx, events: LifecycleEvents, refusal: TokenRefusal): Promise<{ newEpisode: boolean }> {
  const data = { tokenRefusedAt: refusal.at, tokenRefusedReason: refusal.reason };
  // Conditional on "not flagged": of two refusals committing at once, one opens the episode
  // (the other waits on the row lock, then finds it flagged and only refreshes it).
  const { count } = await tx.provider.updateMany({ where: { id: refusal.providerId, tokenRefusedAt: null }, data });
  if (count === 0) {
    await tx.provider.update({ where: { id: refusal.providerId }, data });
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

/** A token was issued: the refusal episode (if any) ends, audited, so the next refusal is news again. */
export async function clearTokenRefusal(tx: Tx, audit: AuditService, providerId: string, ocn: string, actor: AuditActor): Promise<void> {
  const cleared = await tx.provider.updateMany({ where: { id: providerId, tokenRefusedAt: { not: null } }, data: { tokenRefusedAt: null, tokenRefusedReason: null } });
  if (cleared.count > 0) await audit.record(actor, { action: 'provider.token_refusal_cleared', subjectType: 'provider', subjectId: providerId, details: { ocn } }, tx);
}
