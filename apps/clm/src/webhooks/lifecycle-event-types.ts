import type { Prisma } from '@app/db';
import type { AuditActor } from '../audit/audit.service.js';

/**
 * What the lifecycle tells the outside world (issue 5): each event goes to the audit log and to
 * every active webhook subscribed to its type. The names are part of the webhook contract
 * (README "Webhooks"): add new ones, never rename.
 */
export const LIFECYCLE_EVENT_TYPES = [
  /** The STI-CA issued a certificate (downloaded, not yet checked). */
  'certificate.issued',
  /** A certificate became the OCN's active one (checked and published); `data.supersedes` names the previous one. */
  'certificate.activated',
  /** A renewal order ended in `failed`; the renewed certificate stays active. */
  'certificate.renewal_failed',
  /** The OCN's active certificate is within 30, 14, 7 or 1 days of its notAfter (`data.thresholdDays`). */
  'certificate.expiring',
  /** A certificate passed its notAfter. */
  'certificate.expired',
  /** Revoked by us (ACME revokeCert) or found on the STI-PA CRL (`data.source`). */
  'certificate.revoked',
  /** The STI-PA refused the provider an SPC token; the provider is flagged until a token is issued again. */
  'provider.token_refused',
  /** An operator suspended the provider's signing (SPC token revoked, STI-GA): signers get 403 for its OCNs. `data.reason`, `data.ocns`. */
  'provider.signing_suspended',
  /** An operator lifted the suspension: signers are served again. `data.suspendedReason` is the lifted one. */
  'provider.signing_resumed',
] as const;

export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/** Sent only by POST /api/v1/webhooks/{id}/test, to that webhook alone. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** A subscription to every event type, present and future. */
export const ALL_EVENTS = '*';

export interface LifecycleEvent {
  readonly type: LifecycleEventType;
  readonly subject: { readonly type: 'certificate' | 'provider'; readonly id: string };
  /** Facts for receivers: identifiers, dates, reasons. Never a secret (it is sent and audited). */
  readonly data: Prisma.InputJsonObject;
  /** Who caused it, for the audit row; default the lifecycle itself. */
  readonly actor?: AuditActor;
  /**
   * The caller already wrote the audit row for this change in the same transaction (e.g.
   * procurement's `certificate.activated`): only the webhook deliveries are added.
   */
  readonly alreadyAudited?: boolean;
}

/** The JSON body every webhook receives (README "Webhooks"). */
export interface LifecycleEventEnvelope {
  /** Unique per event; the same in every webhook's delivery of it. Receivers deduplicate by it. */
  readonly id: string;
  readonly type: LifecycleEventType | typeof TEST_EVENT_TYPE;
  readonly occurredAt: string;
  readonly subject: { readonly type: string; readonly id: string };
  readonly data: Prisma.InputJsonObject;
}

export function isLifecycleEventType(value: string): value is LifecycleEventType {
  return (LIFECYCLE_EVENT_TYPES as readonly string[]).includes(value);
}
