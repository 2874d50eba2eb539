import { Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { HaltTestHook } from './halt-test-hook.js';
import { loadOrderContext, type OrderContext } from './order-context.js';
import { OrderLedger } from './order-ledger.js';
import { transitionFrom, type StepName } from './order-states.js';
import { describeFailure, LeaseLostError } from './procurement-errors.js';
import { ActivateCertificateStep } from './steps/activate-certificate.step.js';
import { AnswerChallengeStep } from './steps/answer-challenge.step.js';
import { CheckCertificateStep } from './steps/check-certificate.step.js';
import { CreateAcmeOrderStep } from './steps/create-acme-order.step.js';
import { DownloadChainStep } from './steps/download-chain.step.js';
import { EnsureAcmeAccountStep } from './steps/ensure-acme-account.step.js';
import { FinalizeOrderStep } from './steps/finalize-order.step.js';
import { ObtainSpcTokenStep } from './steps/obtain-spc-token.step.js';
import type { OrderStep, StepJournal } from './steps/order-step.js';
import { PublishCertificateStep } from './steps/publish-certificate.step.js';

/**
 * Drives one claimed order through the table in order-states.ts: load the order afresh, run
 * the step its state names, persist the transition; repeat until it is active, failed, waiting
 * for a retry, or no longer ours. One transition at a time, each committed before the next
 * step starts, so a crash loses at most the step in progress (which is idempotent).
 */
@Injectable()
export class OrderProcessor {
  private readonly logger = new Logger('Procurement');
  private readonly steps: ReadonlyMap<StepName, OrderStep>;

  constructor(
    private readonly prisma: PrismaService,
    private readonly ledger: OrderLedger,
    private readonly hook: HaltTestHook,
    ensureAcmeAccount: EnsureAcmeAccountStep,
    obtainSpcToken: ObtainSpcTokenStep,
    createAcmeOrder: CreateAcmeOrderStep,
    answerChallenge: AnswerChallengeStep,
    finalizeOrder: FinalizeOrderStep,
    downloadChain: DownloadChainStep,
    checkCertificate: CheckCertificateStep,
    publishCertificate: PublishCertificateStep,
    activateCertificate: ActivateCertificateStep,
  ) {
    const all: OrderStep[] = [
      ensureAcmeAccount, obtainSpcToken, createAcmeOrder, answerChallenge, finalizeOrder,
      downloadChain, checkCertificate, publishCertificate, activateCertificate,
    ];
    this.steps = new Map(all.map((step) => [step.name, step]));
  }

  /** Works on a claimed order until it needs no more work now; `stopping` is read between steps. */
  async process(orderId: string, workerId: string, stopping: () => boolean): Promise<void> {
    for (;;) {
      if (!(await this.ledger.extendLease(orderId, workerId))) return;
      const context = await loadOrderContext(this.prisma, orderId);
      const transition = transitionFrom(context.order.state);
      if (!transition) return this.ledger.release(orderId, workerId);
      const step = this.steps.get(transition.step);
      if (!step) throw new Error(`no step named ${transition.step}`);
      let applied = transition;
      try {
        const outcome = await this.withHeartbeat(orderId, workerId, () => step.run(context, this.journal(context)));
        applied = outcome.transition ?? transition;
        if (applied.from !== transition.from || applied.step !== transition.step) throw new Error(`step ${step.name} returned a transition from ${applied.from}`);
        if (this.hook.fires('before', applied.to, orderId)) return this.hook.hang();
        await this.ledger.advance(context, applied, outcome, workerId);
      } catch (error) {
        await this.recordFailure(context, error, workerId);
        return;
      }
      this.logger.log({ msg: applied === transition ? 'certificate order advanced' : 'certificate order sent back', orderId, certificateId: context.certificate.id, ocn: context.ocn.code, state: applied.to });
      if (this.hook.fires('after', applied.to, orderId)) return this.hook.hang();
      if (stopping()) return this.ledger.release(orderId, workerId);
    }
  }

  /**
   * Keeps the lease alive while a step runs (ACME polling can outlast a short lease), so no other
   * replica takes the order over and repeats a side effect in parallel. A dead process stops
   * beating, and its lease runs out as intended.
   */
  private async withHeartbeat<T>(orderId: string, workerId: string, work: () => Promise<T>): Promise<T> {
    const everyMs = Math.max(250, Math.floor(this.ledger.leaseMs / 3));
    const timer = setInterval(() => {
      this.ledger.extendLease(orderId, workerId).catch((error: unknown) => this.logger.warn({ msg: 'could not extend a certificate order lease', orderId, err: error }));
    }, everyMs);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async recordFailure(context: OrderContext, error: unknown, workerId: string): Promise<void> {
    const ids = { orderId: context.order.id, certificateId: context.certificate.id, ocn: context.ocn.code, state: context.order.state };
    if (error instanceof LeaseLostError) {
      this.logger.warn({ msg: 'certificate order taken over by another worker; stopped', ...ids });
      return;
    }
    const failure = describeFailure(error);
    if (failure.code === 'INTERNAL') this.logger.error({ msg: 'certificate order step failed unexpectedly', ...ids, err: error });
    try {
      const result = await this.ledger.fail(context, failure, workerId);
      this.logger.warn({ msg: result.result === 'failed' ? 'certificate order failed' : 'certificate order step failed; retry scheduled', ...ids, code: failure.code, reason: failure.message, ...(result.result === 'retry' ? { nextAttemptAt: result.nextAttemptAt } : {}) });
    } catch (recordError) {
      if (recordError instanceof LeaseLostError) return;
      // The lease runs out and another attempt follows; nothing else to do.
      this.logger.error({ msg: 'could not record a failed certificate order step', ...ids, err: recordError });
    }
  }

  private journal(context: OrderContext): StepJournal {
    const certificateId = context.certificate.id;
    return {
      note: (type, details) => this.ledger.note(certificateId, type, context.order.challengeRetries, { ...details, orderId: context.order.id, state: context.order.state }),
      noted: (type) => this.ledger.noted(certificateId, type, context.order.challengeRetries),
    };
  }
}
