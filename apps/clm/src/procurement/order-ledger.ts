import { Inject, Injectable } from '@nestjs/common';
import { type Prisma, PrismaService } from '@app/db';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { CLM_CONFIG } from '../config/config.module.js';
import type { ClmConfig } from '../config/config.js';
import { retryDelayMs } from './backoff.js';
import type { OrderContext } from './order-context.js';
import type { OrderTransition } from './order-states.js';
import { LeaseLostError, type StepFailure } from './procurement-errors.js';
import type { StepOutcome } from './steps/order-step.js';

const PROCUREMENT: AuditActor = { type: 'system', component: 'procurement' };
const MAX_ERROR_TEXT = 1_000;

export type FailureOutcome = { readonly result: 'retry'; readonly nextAttemptAt: Date } | { readonly result: 'failed' };

/**
 * Every write the state machine makes to an order, each in one transaction with the matching
 * certificate change, certificate event and audit row, so none exists without the others.
 *
 * Writes are compare-and-set on (state, locked_by): a worker whose lease ran out and whose
 * order another worker took over can no longer move it, and a step repeated after a crash can
 * never apply its transition twice.
 */
@Injectable()
export class OrderLedger {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
  ) {}

  get leaseMs(): number {
    return this.config.procurement.leaseMs;
  }

  /**
   * Claims up to `limit` due orders for `workerId` until now + lease. SKIP LOCKED lets replicas
   * scan at the same moment without waiting for or taking each other's rows; the lease keeps a
   * claimed order ours after the claim's transaction commits, and frees it if we crash.
   */
  async claimDue(workerId: string, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const now = this.clock.now();
    const until = new Date(now.getTime() + this.config.procurement.leaseMs);
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      WITH due AS (
        SELECT id FROM certificate_orders
        WHERE state NOT IN ('active', 'failed')
          AND next_attempt_at <= ${now}
          AND (locked_until IS NULL OR locked_until <= ${now})
        ORDER BY next_attempt_at, created_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE certificate_orders AS o
      SET locked_by = ${workerId}, locked_until = ${until}, updated_at = ${now}
      FROM due WHERE o.id = due.id
      RETURNING o.id::text AS id`;
    return rows.map((row) => row.id);
  }

  /** Extends our lease before a step; false when the order is no longer ours. */
  async extendLease(orderId: string, workerId: string): Promise<boolean> {
    const until = new Date(this.clock.now().getTime() + this.config.procurement.leaseMs);
    const { count } = await this.prisma.certificateOrder.updateMany({ where: { id: orderId, lockedBy: workerId }, data: { lockedUntil: until } });
    return count === 1;
  }

  async release(orderId: string, workerId: string): Promise<void> {
    await this.prisma.certificateOrder.updateMany({ where: { id: orderId, lockedBy: workerId }, data: { lockedBy: null, lockedUntil: null } });
  }

  /** Persists `transition` with what its step achieved. Throws LeaseLostError if the order moved on. */
  async advance(context: OrderContext, transition: OrderTransition, outcome: StepOutcome, workerId: string): Promise<void> {
    const now = this.clock.now();
    const { order, certificate } = context;
    await this.prisma.transaction(async (tx) => {
      const moved = await tx.certificateOrder.updateMany({
        where: { id: order.id, state: transition.from, lockedBy: workerId },
        data: { ...outcome.order, state: transition.to, attempts: 0, lastError: null, lastErrorCode: null, nextAttemptAt: now },
      });
      if (moved.count !== 1) throw new LeaseLostError(`order ${order.id} is no longer ours in state ${transition.from}`);
      // Before the certificate's own update: activation supersedes the previous certificate first,
      // or the one-active-per-OCN index would refuse the new one.
      const extra = (await outcome.alsoInTransaction?.(tx)) ?? {};
      await tx.certificate.update({ where: { id: certificate.id }, data: { ...outcome.certificate, status: transition.certificateStatus } });
      await tx.certificateEvent.create({
        data: { certificateId: certificate.id, at: now, type: transition.event ?? `order.${transition.to}`, details: { step: transition.step, from: transition.from, ...outcome.details, ...extra } },
      });
      await this.audit.record(PROCUREMENT, {
        action: transition.event ? `certificate_${transition.event}` : 'certificate_order.advanced', subjectType: 'certificate', subjectId: certificate.id,
        details: { orderId: order.id, step: transition.step, from: transition.from, to: transition.to },
      }, tx);
    });
  }

  /**
   * Records a failed step: back off and retry (1 h × 2^(n−1), capped), or end the order in
   * `failed` when the failure is permanent or the attempts are used up. Either way the lease
   * is released and the previous certificate of the OCN is left exactly as it was.
   */
  async fail(context: OrderContext, failure: StepFailure, workerId: string): Promise<FailureOutcome> {
    const now = this.clock.now();
    const { order, certificate } = context;
    const { maxAttempts } = this.config.procurement;
    const attempts = order.attempts + 1;
    const giveUp = failure.permanent || attempts >= maxAttempts;
    const message = (giveUp && !failure.permanent ? `gave up after ${attempts} attempts: ${failure.message}` : failure.message).slice(0, MAX_ERROR_TEXT);
    const delay = failure.retryInMs ?? retryDelayMs(attempts, this.config.procurement, failure.retryAfterMs);
    const nextAttemptAt = new Date(now.getTime() + delay);
    return this.prisma.transaction(async (tx) => {
      const { count } = await tx.certificateOrder.updateMany({
        where: { id: order.id, state: order.state, lockedBy: workerId },
        data: {
          attempts,
          lastError: message,
          lastErrorCode: failure.code,
          lockedBy: null,
          lockedUntil: null,
          ...(giveUp ? { state: 'failed' as const } : { nextAttemptAt }),
        },
      });
      if (count !== 1) throw new LeaseLostError(`order ${order.id} is no longer ours in state ${order.state}`);
      if (giveUp) await tx.certificate.update({ where: { id: certificate.id }, data: { status: 'failed' } });
      const details: Prisma.InputJsonObject = {
        state: order.state,
        code: failure.code,
        message,
        attempts,
        permanent: failure.permanent,
        ...(failure.details ? { details: failure.details } : {}),
        ...(giveUp ? {} : { nextAttemptAt: nextAttemptAt.toISOString() }),
      };
      await tx.certificateEvent.create({
        data: { certificateId: certificate.id, at: now, type: giveUp ? 'order.failed' : 'order.retry_scheduled', details },
      });
      await this.audit.record(PROCUREMENT, {
        action: giveUp ? 'certificate_order.failed' : 'certificate_order.retry_scheduled',
        subjectType: 'certificate', subjectId: certificate.id,
        details: { orderId: order.id, ...details },
      }, tx);
      return giveUp ? { result: 'failed' as const } : { result: 'retry' as const, nextAttemptAt };
    });
  }

  /**
   * A timeline entry written before a side effect, so a resumed step knows it may have happened.
   * `round` is the order's challengeRetries: notes of an earlier round (an ACME order given up
   * after an invalid challenge) do not count for the current one.
   */
  async note(certificateId: string, type: string, round: number, details: Prisma.InputJsonObject): Promise<void> {
    await this.prisma.certificateEvent.create({ data: { certificateId, at: this.clock.now(), type, details: { ...details, round } } });
  }

  async noted(certificateId: string, type: string, round: number): Promise<boolean> {
    // Notes written before rounds existed carry none: they belong to round 0.
    const [row] = await this.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM certificate_events
      WHERE certificate_id = ${certificateId}::uuid AND type = ${type}
        AND COALESCE((details->>'round')::int, 0) = ${round}`;
    return (row?.n ?? 0n) > 0n;
  }
}
