import type { Prisma, Tx } from '@app/db';
import type { OrderContext } from '../order-context.js';
import type { OrderTransition, StepName } from '../order-states.js';

/** Columns of the order a step sets together with its transition. */
export interface OrderPatch {
  readonly spcTokenId?: string | null;
  readonly acmeOrderUrl?: string | null;
  readonly finalizeUrl?: string | null;
  readonly certificateUrl?: string;
  readonly challengeRetries?: number;
  readonly freshTokenNeeded?: boolean;
}

/** Columns of the certificate a step sets together with its transition. */
export interface CertificatePatch {
  readonly serial?: string;
  readonly fingerprintSha256?: string;
  readonly subject?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly chainPem?: string;
  readonly x5u?: string;
  readonly activatedAt?: Date;
  readonly renewAt?: Date;
}

/** What a step achieved; persisted atomically with the transition, the event and the audit row. */
export interface StepOutcome {
  /** A transition other than the step's own forward one (only CHALLENGE_RETRY, order-states.ts). */
  readonly transition?: OrderTransition;
  readonly order?: OrderPatch;
  readonly certificate?: CertificatePatch;
  /** Facts for the certificate's timeline (identifiers and outcomes; never a secret). */
  readonly details?: Prisma.InputJsonObject;
  /**
   * Further writes that must commit with the transition or not at all (activation); what it
   * returns is added to the event's details.
   */
  readonly alsoInTransaction?: (tx: Tx) => Promise<Prisma.InputJsonObject | void>;
}

/** Lets a step persist what it is about to do before doing it (crash safety). */
export interface StepJournal {
  /** Adds an event to the certificate's timeline now, in its own transaction. */
  note(type: string, details: Prisma.InputJsonObject): Promise<void>;
  /**
   * True when an event of this type was noted for this order in its current round (a challenge
   * retry starts a new round: what was noted before it is about the ACME order it gave up).
   */
  noted(type: string): Promise<boolean>;
}

/**
 * One step of the state machine (see order-states.ts). `run` must be idempotent: it may run
 * again after a crash that happened after its side effects but before its transition was
 * persisted, and must then reach the same outcome without doing the side effect twice where
 * that matters (a second ACME order, a second key).
 */
export interface OrderStep {
  readonly name: StepName;
  run(context: OrderContext, journal: StepJournal): Promise<StepOutcome>;
}
