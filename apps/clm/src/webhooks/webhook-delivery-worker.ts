import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { PrismaService } from '@app/db';
import type { Keystore } from '@app/keystore';
import { Clock } from '../common/clock.js';
import { CLM_CONFIG, KEYSTORE } from '../config/config.module.js';
import type { ClmConfig } from '../config/config.js';
import { INSTANCE_ID } from '../jobs/job-runner.service.js';
import { webhookSecretAad } from '../common/sealed-secrets.js';
import { retryDelayMs } from '../procurement/backoff.js';
import { WebhookSender, type SendOutcome } from './webhook-sender.js';
import { WEBHOOK_DELIVERY, type WebhookDeliverySettings } from './webhook-settings.js';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';

interface ClaimedDelivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event: string;
  payload: unknown;
  attempts: number;
  url: string;
  secret_sealed: Uint8Array;
}

export interface DeliveryRoundSummary {
  readonly delivered: number;
  readonly retrying: number;
  readonly failed: number;
}

/**
 * Sends queued webhook deliveries, on every replica. A round claims due rows with FOR UPDATE
 * SKIP LOCKED and, in the same statement, moves their next_attempt_at one lease ahead and counts
 * the attempt: replicas scanning at the same moment take disjoint rows, and a replica that dies
 * mid-send leaves its rows to be retried when the lease runs out (at-least-once; receivers
 * deduplicate by the event id). The result is written compare-and-set on the attempt number,
 * so a late answer cannot overwrite a newer attempt.
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  readonly workerId = `${INSTANCE_ID}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('WebhookDelivery');
  private readonly settings: WebhookDeliverySettings = { ...WEBHOOK_DELIVERY };
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<DeliveryRoundSummary> | undefined;
  private stopping = false;

  constructor(
    private readonly prisma: PrismaService,
    private readonly clock: Clock,
    private readonly sender: WebhookSender,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.jobsEnabled) return;
    this.timer = setInterval(() => void this.runRound().catch((error: unknown) => this.logger.error({ msg: 'webhook delivery round failed', err: error })), this.settings.pollIntervalMs);
    this.timer.unref();
  }

  /** Sends until nothing is due (tests and on-demand runs; deliveries waiting for a retry are not due). */
  async drain(): Promise<DeliveryRoundSummary> {
    const total = { delivered: 0, retrying: 0, failed: 0 };
    for (;;) {
      const round = await this.runRound();
      total.delivered += round.delivered;
      total.retrying += round.retrying;
      total.failed += round.failed;
      if (round.delivered + round.retrying + round.failed === 0) return total;
    }
  }

  private runRound(): Promise<DeliveryRoundSummary> {
    this.round ??= this.sendDue().finally(() => (this.round = undefined));
    return this.round;
  }

  private async sendDue(): Promise<DeliveryRoundSummary> {
    const summary = { delivered: 0, retrying: 0, failed: 0 };
    if (this.stopping) return summary;
    const claimed = await this.claim(this.settings.concurrency);
    const results = await Promise.all(claimed.map((delivery) => this.deliver(delivery)));
    for (const result of results) summary[result] += 1;
    return summary;
  }

  private async claim(limit: number): Promise<ClaimedDelivery[]> {
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + this.settings.leaseMs);
    return this.prisma.$queryRaw<ClaimedDelivery[]>`
      WITH due AS (
        SELECT d.id FROM webhook_deliveries d
        JOIN webhooks w ON w.id = d.webhook_id AND w.active
        WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
        ORDER BY d.next_attempt_at, d.created_at
        LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED
      )
      UPDATE webhook_deliveries AS d
      SET next_attempt_at = ${leaseUntil}, attempts = d.attempts + 1
      FROM due, webhooks w
      WHERE d.id = due.id AND w.id = d.webhook_id
      RETURNING d.id::text, d.webhook_id::text, d.event_id::text, d.event, d.payload, d.attempts, w.url, w.secret_sealed`;
  }

  private async deliver(delivery: ClaimedDelivery): Promise<keyof DeliveryRoundSummary> {
    const body = JSON.stringify(delivery.payload);
    let outcome: SendOutcome;
    try {
      const secret = this.keystore.open(delivery.secret_sealed, webhookSecretAad(delivery.webhook_id)).toString('utf8');
      outcome = await this.sender.post(delivery.url, {
        'content-type': 'application/json',
        'user-agent': 'shaken-clm-webhooks',
        'x-clm-event': delivery.event,
        'x-clm-event-id': delivery.event_id,
        'x-clm-delivery': delivery.id,
        [SIGNATURE_HEADER]: signWebhookBody(secret, body, this.clock.now()),
      }, body, this.settings.timeoutMs);
    } catch (error) {
      // The secret did not open (KEK missing after a botched rotation): a failed attempt like any other.
      outcome = { kind: 'unreachable', error: `could not sign: ${(error as { code?: string }).code ?? 'error'}` };
    }
    return this.record(delivery, outcome);
  }

  private async record(delivery: ClaimedDelivery, outcome: SendOutcome): Promise<keyof DeliveryRoundSummary> {
    const now = this.clock.now();
    const ours = { id: delivery.id, attempts: delivery.attempts, status: 'pending' as const };
    const statusCode = outcome.kind === 'answered' ? outcome.status : null;
    if (outcome.kind === 'answered' && outcome.status >= 200 && outcome.status < 300) {
      await this.prisma.webhookDelivery.updateMany({ where: ours, data: { status: 'delivered', deliveredAt: now, lastStatusCode: statusCode, lastError: null } });
      return 'delivered';
    }
    const error = outcome.kind === 'answered' ? `the receiver answered ${outcome.status}` : outcome.error;
    const giveUp = delivery.attempts >= this.settings.maxAttempts;
    const retryAfterMs = outcome.kind === 'answered' ? outcome.retryAfterMs : undefined;
    const nextAttemptAt = new Date(now.getTime() + retryDelayMs(delivery.attempts, this.settings, retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, this.settings.backoffCapMs)));
    await this.prisma.webhookDelivery.updateMany({
      where: ours,
      data: giveUp
        ? { status: 'failed', lastStatusCode: statusCode, lastError: `gave up after ${delivery.attempts} attempts: ${error}` }
        : { nextAttemptAt, lastStatusCode: statusCode, lastError: error },
    });
    this.logger.warn({ msg: giveUp ? 'webhook delivery failed for good' : 'webhook delivery failed; retry scheduled', deliveryId: delivery.id, webhookId: delivery.webhook_id, event: delivery.event, attempts: delivery.attempts, error, ...(giveUp ? {} : { nextAttemptAt }) });
    return giveUp ? 'failed' : 'retrying';
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.round?.catch(() => undefined);
  }
}
