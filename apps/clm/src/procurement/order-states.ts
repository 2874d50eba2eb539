import type { CertificateOrderState, CertificateStatus } from '@app/db';

/**
 * The procurement state machine as one table you can read (ARCHITECTURE.md habit 6). An order
 * moves forward one named step at a time; each step is idempotent, so running it again after a
 * crash (before its transition was persisted) does no harm. Any step may instead end the order
 * in `failed` (a permanent failure, or too many retryable ones). One edge goes back, and only a
 * bounded number of times: CHALLENGE_RETRY below.
 *
 *   key_generated ─ensureAcmeAccount→ account_ready ─obtainSpcToken→ token_obtained
 *     ─createAcmeOrder→ order_created ─answerChallenge→ challenge_answered ─finalizeOrder→ finalized
 *     ─downloadChain→ downloaded ─checkCertificate→ checked ─publishCertificate→ published
 *     ─activateCertificate→ active
 *   order_created ─answerChallenge (challenge invalid, retries left)→ token_obtained
 */
export type StepName =
  | 'ensureAcmeAccount'
  | 'obtainSpcToken'
  | 'createAcmeOrder'
  | 'answerChallenge'
  | 'finalizeOrder'
  | 'downloadChain'
  | 'checkCertificate'
  | 'publishCertificate'
  | 'activateCertificate';

export interface OrderTransition {
  readonly from: CertificateOrderState;
  readonly step: StepName;
  readonly to: CertificateOrderState;
  /** The certificate's status once the order reached `to`. */
  readonly certificateStatus: CertificateStatus;
  /** Timeline event type; default `order.<to>`. */
  readonly event?: string;
}

export const ORDER_TRANSITIONS: readonly OrderTransition[] = [
  { from: 'key_generated', step: 'ensureAcmeAccount', to: 'account_ready', certificateStatus: 'ordering' },
  { from: 'account_ready', step: 'obtainSpcToken', to: 'token_obtained', certificateStatus: 'ordering' },
  { from: 'token_obtained', step: 'createAcmeOrder', to: 'order_created', certificateStatus: 'ordering' },
  { from: 'order_created', step: 'answerChallenge', to: 'challenge_answered', certificateStatus: 'ordering' },
  { from: 'challenge_answered', step: 'finalizeOrder', to: 'finalized', certificateStatus: 'ordering' },
  { from: 'finalized', step: 'downloadChain', to: 'downloaded', certificateStatus: 'issued' },
  { from: 'downloaded', step: 'checkCertificate', to: 'checked', certificateStatus: 'checked' },
  { from: 'checked', step: 'publishCertificate', to: 'published', certificateStatus: 'published' },
  { from: 'published', step: 'activateCertificate', to: 'active', certificateStatus: 'active' },
];

/**
 * The one edge back. RFC 8555 §7.1.6: an `invalid` challenge is final for its authorization and
 * its order, and a CA refuses a second response. So when the CA turns the tkauth-01 challenge
 * invalid, the order goes back to createAcmeOrder (whose journaled newOrder keeps it to one live
 * ACME order), marked as needing a token fresh from the STI-PA; at most MAX_CHALLENGE_RETRIES
 * times (STIR-SHAKEN.md §4: the STI-PA is rate-sensitive), counted on the order.
 */
export const CHALLENGE_RETRY: OrderTransition = {
  from: 'order_created', step: 'answerChallenge', to: 'token_obtained', certificateStatus: 'ordering', event: 'order.challenge_retry',
};
export const MAX_CHALLENGE_RETRIES = 2;

/** States an order never leaves. */
export const TERMINAL_ORDER_STATES: readonly CertificateOrderState[] = ['active', 'failed'];

/** States of an order still being worked on (one such order per OCN and STI-CA at a time). */
export const IN_FLIGHT_ORDER_STATES: readonly CertificateOrderState[] = ORDER_TRANSITIONS.map((t) => t.from);

/** The certificate status of a freshly requested order (its key exists, nothing was sent yet). */
export const INITIAL_CERTIFICATE_STATUS: CertificateStatus = 'requested';

export function transitionFrom(state: CertificateOrderState): OrderTransition | undefined {
  return ORDER_TRANSITIONS.find((transition) => transition.from === state);
}

export function isTerminal(state: CertificateOrderState): boolean {
  return TERMINAL_ORDER_STATES.includes(state);
}
