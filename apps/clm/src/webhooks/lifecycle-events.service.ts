import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Prisma, Tx } from '@app/db';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { ALL_EVENTS, type LifecycleEvent, type LifecycleEventEnvelope } from './lifecycle-event-types.js';

const LIFECYCLE: AuditActor = { type: 'system', component: 'lifecycle' };

export interface EmittedEvent {
  readonly id: string;
  /** Webhooks the event was queued for. */
  readonly deliveries: number;
}

/**
 * The lifecycle's event bus, as a transactional outbox: `emit` writes the audit row and one
 * WebhookDelivery per subscribed webhook with the caller's transaction, so an event exists
 * exactly when the change it reports committed. Sending happens later (WebhookDeliveryWorker),
 * never inside the caller's transaction.
 */
@Injectable()
export class LifecycleEvents {
  constructor(
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async emit(tx: Tx, event: LifecycleEvent): Promise<EmittedEvent> {
    const id = randomUUID();
    const now = this.clock.now();
    const envelope: LifecycleEventEnvelope = {
      id,
      type: event.type,
      occurredAt: now.toISOString(),
      subject: { type: event.subject.type, id: event.subject.id },
      data: event.data,
    };
    if (!event.alreadyAudited) {
      await this.audit.record(event.actor ?? LIFECYCLE, {
        action: event.type,
        subjectType: event.subject.type,
        subjectId: event.subject.id,
        details: { eventId: id, ...event.data },
      }, tx);
    }
    const webhooks = await tx.webhook.findMany({
      where: { active: true, OR: [{ events: { has: event.type } }, { events: { has: ALL_EVENTS } }] },
      select: { id: true },
    });
    if (webhooks.length > 0) {
      await tx.webhookDelivery.createMany({
        data: webhooks.map((webhook) => ({
          webhookId: webhook.id,
          eventId: id,
          event: event.type,
          payload: envelope as unknown as Prisma.InputJsonObject,
          nextAttemptAt: now,
        })),
      });
    }
    return { id, deliveries: webhooks.length };
  }
}
