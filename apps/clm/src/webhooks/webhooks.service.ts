import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type Prisma, type Webhook, type WebhookDelivery } from '@app/db';
import type { Keystore } from '@app/keystore';
import { AuditService } from '../audit/audit.service.js';
import type { AdminActor } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import { conflict, invalid, notFound } from '../common/domain-error.js';
import { KEYSTORE } from '../config/config.module.js';
import { webhookSecretAad } from '../common/sealed-secrets.js';
import { TEST_EVENT_TYPE, type LifecycleEventEnvelope } from './lifecycle-event-types.js';
import type { CreateWebhookDto, ListDeliveriesQueryDto, UpdateWebhookDto } from './webhooks.dto.js';
import { webhookUrlProblem } from './webhook-url.js';

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  /** Deliveries by status, so a stuck or failing receiver shows at a glance. */
  deliveries: { pending: number; delivered: number; failed: number };
  createdAt: Date;
  updatedAt: Date;
}

/** The answer that carries a new secret: the only time it is shown. */
export interface WebhookWithSecretView extends WebhookView {
  secret: string;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  event: string;
  status: string;
  attempts: number;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
}

/** Webhook registrations (admin API). Secrets are sealed with the webhook's id as AAD and never returned after creation or rotation. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async create(input: CreateWebhookDto, actor: AdminActor): Promise<WebhookWithSecretView> {
    checkUrl(input.url);
    const id = randomUUID();
    const secret = input.secret ?? newSecret();
    const row = await this.prisma.transaction(async (tx) => {
      const created = await tx.webhook.create({
        data: { id, url: input.url, events: input.events, active: input.active ?? true, secretSealed: this.seal(id, secret) },
      });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'webhook.created', subjectType: 'webhook', subjectId: id,
        details: { url: input.url, events: input.events, secretGenerated: input.secret === undefined },
      }, tx);
      return created;
    });
    return { ...(await this.view(row)), secret };
  }

  async list(): Promise<WebhookView[]> {
    const rows = await this.prisma.webhook.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    return Promise.all(rows.map((row) => this.view(row)));
  }

  async get(id: string): Promise<WebhookView> {
    return this.view(await this.find(id));
  }

  async update(id: string, input: UpdateWebhookDto, actor: AdminActor): Promise<WebhookView | WebhookWithSecretView> {
    if (input.url !== undefined) checkUrl(input.url);
    const secret = input.rotateSecret ? newSecret() : undefined;
    const row = await this.prisma.transaction(async (tx) => {
      if (!(await tx.webhook.findUnique({ where: { id }, select: { id: true } }))) throw notFound('WEBHOOK.NOT_FOUND', `no webhook ${id}`);
      const updated = await tx.webhook.update({
        where: { id },
        data: {
          ...(input.url !== undefined ? { url: input.url } : {}),
          ...(input.events !== undefined ? { events: input.events } : {}),
          ...(input.active !== undefined ? { active: input.active } : {}),
          ...(secret !== undefined ? { secretSealed: this.seal(id, secret) } : {}),
        },
      });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'webhook.updated', subjectType: 'webhook', subjectId: id,
        details: { fields: Object.keys(input).filter((k) => k !== 'rotateSecret'), secretRotated: secret !== undefined },
      }, tx);
      return updated;
    });
    const view = await this.view(row);
    return secret === undefined ? view : { ...view, secret };
  }

  /** Removes the webhook and its delivery history; deliveries in flight finish or are dropped. */
  async remove(id: string, actor: AdminActor): Promise<void> {
    await this.prisma.transaction(async (tx) => {
      const { count } = await tx.webhook.deleteMany({ where: { id } });
      if (count === 0) throw notFound('WEBHOOK.NOT_FOUND', `no webhook ${id}`);
      await this.audit.record({ type: 'admin', admin: actor }, { action: 'webhook.deleted', subjectType: 'webhook', subjectId: id }, tx);
    });
  }

  async deliveries(id: string, query: ListDeliveriesQueryDto): Promise<WebhookDeliveryView[]> {
    await this.find(id);
    const rows = await this.prisma.webhookDelivery.findMany({
      where: { webhookId: id, ...(query.status ? { status: query.status } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take: query.limit ?? 100,
    });
    return rows.map(deliveryView);
  }

  /** Queues a `webhook.test` event for this webhook alone (it goes out with the next delivery round). */
  async sendTest(id: string, actor: AdminActor): Promise<WebhookDeliveryView> {
    const webhook = await this.find(id);
    const now = this.clock.now();
    const eventId = randomUUID();
    const envelope: LifecycleEventEnvelope = {
      id: eventId, type: TEST_EVENT_TYPE, occurredAt: now.toISOString(), subject: { type: 'webhook', id }, data: { message: 'test delivery from shaken-clm' },
    };
    const row = await this.prisma.transaction(async (tx) => {
      const delivery = await tx.webhookDelivery.create({
        data: { webhookId: webhook.id, eventId, event: TEST_EVENT_TYPE, payload: envelope as unknown as Prisma.InputJsonObject, nextAttemptAt: now },
      });
      await this.audit.record({ type: 'admin', admin: actor }, { action: 'webhook.test_queued', subjectType: 'webhook', subjectId: id, details: { eventId } }, tx);
      return delivery;
    });
    return deliveryView(row);
  }

  /** Puts a `failed` delivery back in the queue, attempts reset (after the receiver was fixed). */
  async retry(id: string, deliveryId: string, actor: AdminActor): Promise<WebhookDeliveryView> {
    return this.prisma.transaction(async (tx) => {
      const delivery = await tx.webhookDelivery.findFirst({ where: { id: deliveryId, webhookId: id } });
      if (!delivery) throw notFound('WEBHOOK_DELIVERY.NOT_FOUND', `no delivery ${deliveryId} for webhook ${id}`);
      if (delivery.status !== 'failed') throw conflict('WEBHOOK_DELIVERY.NOT_FAILED', `delivery ${deliveryId} is ${delivery.status}; only failed deliveries are retried by hand`);
      const updated = await tx.webhookDelivery.update({ where: { id: deliveryId }, data: { status: 'pending', attempts: 0, nextAttemptAt: this.clock.now() } });
      await this.audit.record({ type: 'admin', admin: actor }, { action: 'webhook.delivery_retried', subjectType: 'webhook', subjectId: id, details: { deliveryId } }, tx);
      return deliveryView(updated);
    });
  }

  private async find(id: string): Promise<Webhook> {
    const row = await this.prisma.webhook.findUnique({ where: { id } });
    if (!row) throw notFound('WEBHOOK.NOT_FOUND', `no webhook ${id}`);
    return row;
  }

  private seal(id: string, secret: string): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.keystore.seal(Buffer.from(secret, 'utf8'), webhookSecretAad(id)));
  }

  private async view(row: Webhook): Promise<WebhookView> {
    const counts = await this.prisma.webhookDelivery.groupBy({ by: ['status'], where: { webhookId: row.id }, _count: { _all: true } });
    const deliveries = { pending: 0, delivered: 0, failed: 0 };
    for (const count of counts) deliveries[count.status] = count._count._all;
    return { id: row.id, url: row.url, events: row.events, active: row.active, deliveries, createdAt: row.createdAt, updatedAt: row.updatedAt };
  }
}

function checkUrl(url: string): void {
  const problem = webhookUrlProblem(url);
  if (problem) throw invalid('WEBHOOK.URL_INVALID', problem);
}

/** 32 random bytes: as strong as the HMAC-SHA256 key can use. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function deliveryView(row: WebhookDelivery): WebhookDeliveryView {
  return {
    id: row.id,
    eventId: row.eventId,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt : null,
    deliveredAt: row.deliveredAt,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: row.createdAt,
  };
}
