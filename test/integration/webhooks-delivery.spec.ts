import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PrismaService } from '@app/db';
import { AdminTokenService } from '../../apps/clm/src/auth/admin-token.service.js';
import { ManualClock } from '../../apps/clm/src/common/clock.js';
import { LifecycleEvents } from '../../apps/clm/src/webhooks/lifecycle-events.service.js';
import { WebhookDeliveryWorker } from '../../apps/clm/src/webhooks/webhook-delivery-worker.js';
import { WEBHOOK_DELIVERY } from '../../apps/clm/src/webhooks/webhook-settings.js';
import { verifyWebhookSignature } from '../../apps/clm/src/webhooks/webhook-signature.js';
import { startInProcessClm, type InProcessClm } from '../support/clm-app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver on loopback: records every request, answers `nextStatuses` first, then 204. */
class Receiver {
  readonly received: Received[] = [];
  nextStatuses: number[] = [];
  /** Retry-After (seconds) sent with the next answer. */
  nextRetryAfter: string | undefined;
  delayMs = 0;
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/clm`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = receiver.nextStatuses.shift() ?? 204;
        const headers = receiver.nextRetryAfter !== undefined ? { 'retry-after': receiver.nextRetryAfter } : {};
        receiver.nextRetryAfter = undefined;
        setTimeout(() => res.writeHead(status, headers).end(), receiver.delayMs);
      });
    });
    return receiver;
  }

  eventIds(): string[] {
    return this.received.map((r) => (JSON.parse(r.body) as { id: string }).id);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('webhooks: outbox, signed delivery, retries (integration)', () => {
  let db: TestDatabase;
  let clm: InProcessClm;
  let prisma: PrismaService;
  let receiver: Receiver;
  const clock = new ManualClock(new Date('2026-11-23T10:00:00Z'));
  const token = `clm_admin_${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    clm = await startInProcessClm({ db, clock });
    await clm.app.get(AdminTokenService).ensureBootstrapToken(token);
    prisma = clm.app.get(PrismaService);
  });
  afterAll(async () => {
    await clm?.close();
    await db?.drop();
  });
  afterEach(async () => {
    await receiver?.close();
    // Each test starts with no webhooks, so events of one never reach another's receiver.
    await prisma.webhook.deleteMany();
  });

  async function api(method: string, path: string, body?: unknown) {
    const res = await clm.app.inject({ method: method as 'GET', url: path, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : undefined };
  }

  async function register(events: string[] = ['*']): Promise<{ id: string; secret: string }> {
    receiver = await Receiver.start();
    const created = await api('POST', '/api/v1/webhooks', { url: receiver.url, events });
    expect(created.status).toBe(201);
    return { id: created.json!.id as string, secret: created.json!.secret as string };
  }

  function emitRevoked(certificateId = crypto.randomUUID()) {
    return prisma.transaction((tx) => clm.app.get(LifecycleEvents).emit(tx, {
      type: 'certificate.revoked', subject: { type: 'certificate', id: certificateId }, data: { serial: 'abc123', reason: 'keyCompromise', source: 'test' },
    }));
  }

  const drain = () => clm.app.get(WebhookDeliveryWorker).drain();

  it('shows the secret once, keeps it sealed, and refuses bad URLs and unknown events with their own codes', async () => {
    const { id, secret } = await register(['certificate.activated']);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const shown = await api('GET', `/api/v1/webhooks/${id}`);
    expect(shown.json).toMatchObject({ id, url: receiver.url, events: ['certificate.activated'], active: true, deliveries: { pending: 0, delivered: 0, failed: 0 } });
    expect(JSON.stringify(shown.json)).not.toContain(secret);
    const row = await prisma.webhook.findUniqueOrThrow({ where: { id } });
    expect(Buffer.from(row.secretSealed).includes(Buffer.from(secret))).toBe(false);

    expect((await api('POST', '/api/v1/webhooks', { url: 'http://hooks.example.net/x', events: ['*'] })).json).toMatchObject({ status: 422, code: 'WEBHOOK.URL_INVALID' });
    expect((await api('POST', '/api/v1/webhooks', { url: 'https://u:p@hooks.example.net/x', events: ['*'] })).json).toMatchObject({ code: 'WEBHOOK.URL_INVALID' });
    expect((await api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['certificate.exploded'] })).json).toMatchObject({ status: 400, code: 'REQUEST.INVALID' });
    expect((await api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'], secret: 'short' })).status).toBe(400);

    const rotated = await api('PATCH', `/api/v1/webhooks/${id}`, { rotateSecret: true });
    expect(rotated.json!.secret).toMatch(/^whsec_/);
    expect(rotated.json!.secret).not.toBe(secret);
    expect((await api('DELETE', `/api/v1/webhooks/${id}`)).status).toBe(204);
    expect((await api('GET', `/api/v1/webhooks/${id}`)).json).toMatchObject({ code: 'WEBHOOK.NOT_FOUND' });
  });

  it('writes deliveries only with the committing transaction, only for subscribers, and signs each body', async () => {
    const subscribed = await register(['certificate.revoked']);
    const other = await api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['certificate.activated'] });
    expect(other.status).toBe(201);

    // A rolled-back change leaves no event behind.
    await expect(prisma.transaction(async (tx) => {
      await clm.app.get(LifecycleEvents).emit(tx, { type: 'certificate.revoked', subject: { type: 'certificate', id: crypto.randomUUID() }, data: {} });
      throw new Error('the change failed');
    })).rejects.toThrow('the change failed');
    expect(await prisma.webhookDelivery.count()).toBe(0);

    const certificateId = crypto.randomUUID();
    const emitted = await emitRevoked(certificateId);
    expect(emitted.deliveries).toBe(1);
    const audit = await prisma.auditEvent.findFirstOrThrow({ where: { action: 'certificate.revoked', subjectId: certificateId } });
    expect(audit).toMatchObject({ actorType: 'system', actorId: 'lifecycle', subjectType: 'certificate' });

    expect(await drain()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-clm-event']).toBe('certificate.revoked');
    expect(request!.headers['x-clm-event-id']).toBe(emitted.id);
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toEqual({
      id: emitted.id, type: 'certificate.revoked', occurredAt: clock.now().toISOString(),
      subject: { type: 'certificate', id: certificateId }, data: { serial: 'abc123', reason: 'keyCompromise', source: 'test' },
    });
    const signature = request!.headers['x-clm-signature'] as string;
    expect(verifyWebhookSignature(subscribed.secret, request!.body, signature, { toleranceSeconds: 300, now: clock.now() })).toBe(true);
    expect(verifyWebhookSignature('some other secret of enough length', request!.body, signature, { toleranceSeconds: 300, now: clock.now() })).toBe(false);

    const deliveries = await api('GET', `/api/v1/webhooks/${subscribed.id}/deliveries`);
    expect(deliveries.json).toEqual([expect.objectContaining({ eventId: emitted.id, status: 'delivered', attempts: 1, lastStatusCode: 204, lastError: null, nextAttemptAt: null })]);
    // Nothing is sent twice: the delivered row is no longer due.
    expect(await drain()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect(receiver.received).toHaveLength(1);
  });

  it('retries after 500s with exponential backoff, then delivers the same event, re-signed', async () => {
    const { id, secret } = await register();
    receiver.nextStatuses = [500, 503];
    const emitted = await emitRevoked();

    expect(await drain()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    let [delivery] = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).json as unknown as Record<string, unknown>[];
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, lastError: 'the receiver answered 500' });
    expect(new Date(delivery!.nextAttemptAt as string).getTime() - clock.now().getTime()).toBe(WEBHOOK_DELIVERY.backoffBaseMs);

    // Not due before its time.
    clock.advance(WEBHOOK_DELIVERY.backoffBaseMs - 1_000);
    expect(await drain()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    clock.advance(1_000);
    expect(await drain()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    [delivery] = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).json as unknown as Record<string, unknown>[];
    expect(delivery).toMatchObject({ attempts: 2, lastStatusCode: 503 });
    expect(new Date(delivery!.nextAttemptAt as string).getTime() - clock.now().getTime()).toBe(2 * WEBHOOK_DELIVERY.backoffBaseMs);

    clock.advance(2 * WEBHOOK_DELIVERY.backoffBaseMs);
    expect(await drain()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
    expect(receiver.eventIds()).toEqual([emitted.id, emitted.id, emitted.id]);
    for (const request of receiver.received) {
      expect(verifyWebhookSignature(secret, request.body, request.headers['x-clm-signature'] as string, { toleranceSeconds: 300, now: clock.now() })).toBe(true);
    }
    expect((await api('GET', `/api/v1/webhooks/${id}`)).json).toMatchObject({ deliveries: { pending: 0, delivered: 1, failed: 0 } });
  });

  it('honours Retry-After, and gives up after the attempt cap; a failed delivery can be retried by hand', async () => {
    const { id } = await register();
    receiver.nextStatuses = Array.from({ length: WEBHOOK_DELIVERY.maxAttempts }, () => 500);
    receiver.nextRetryAfter = '600';
    await emitRevoked();
    await drain();
    const [waiting] = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).json as unknown as Record<string, unknown>[];
    // The receiver asked for 10 minutes: longer than the first backoff step (30 s), so it wins.
    expect(new Date(waiting!.nextAttemptAt as string).getTime() - clock.now().getTime()).toBe(600_000);
    clock.advance(WEBHOOK_DELIVERY.backoffCapMs);
    for (let attempt = 2; attempt <= WEBHOOK_DELIVERY.maxAttempts; attempt++) {
      const round = await drain();
      expect(round.retrying + round.failed).toBe(1);
      clock.advance(WEBHOOK_DELIVERY.backoffCapMs);
    }
    const [failed] = (await api('GET', `/api/v1/webhooks/${id}/deliveries?status=failed`)).json as unknown as Record<string, unknown>[];
    expect(failed).toMatchObject({ status: 'failed', attempts: WEBHOOK_DELIVERY.maxAttempts, lastStatusCode: 500 });
    expect(failed!.lastError).toMatch(/^gave up after 15 attempts/);
    expect(receiver.received).toHaveLength(WEBHOOK_DELIVERY.maxAttempts);
    expect(await drain()).toEqual({ delivered: 0, retrying: 0, failed: 0 });

    expect((await api('POST', `/api/v1/webhooks/${id}/deliveries/${failed!.id as string}/retry`)).json).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await drain()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
    expect((await api('POST', `/api/v1/webhooks/${id}/deliveries/${failed!.id as string}/retry`)).json).toMatchObject({ code: 'WEBHOOK_DELIVERY.NOT_FAILED' });
  });

  it('records an unreachable receiver without an HTTP status, and holds deliveries of a paused webhook', async () => {
    const { id } = await register();
    await receiver.close();
    await emitRevoked();
    expect(await drain()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    const [delivery] = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).json as unknown as Record<string, unknown>[];
    expect(delivery).toMatchObject({ lastStatusCode: null, attempts: 1 });
    expect(delivery!.lastError).toMatch(/fetch failed|ECONNREFUSED/);

    receiver = await Receiver.start();
    await api('PATCH', `/api/v1/webhooks/${id}`, { url: receiver.url, active: false });
    clock.advance(WEBHOOK_DELIVERY.backoffCapMs);
    expect(await drain()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    await api('PATCH', `/api/v1/webhooks/${id}`, { active: true });
    expect(await drain()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
    expect(receiver.received).toHaveLength(1);
  });

  it('sends a test event on request', async () => {
    const { id, secret } = await register(['certificate.expiring']);
    const queued = await api('POST', `/api/v1/webhooks/${id}/test`);
    expect(queued).toMatchObject({ status: 202, json: { event: 'webhook.test', status: 'pending' } });
    await drain();
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'webhook.test', subject: { type: 'webhook', id } });
    expect(verifyWebhookSignature(secret, receiver.received[0]!.body, receiver.received[0]!.headers['x-clm-signature'] as string, { toleranceSeconds: 300, now: clock.now() })).toBe(true);
  });

  it('never delivers an event twice when two service instances send from one database', async () => {
    await register();
    receiver.delayMs = 20;
    const second = await startInProcessClm({ db, clock, keystore: clm.runtime.keystore });
    try {
      const events = 40;
      const emitted = await Promise.all(Array.from({ length: events }, () => emitRevoked()));
      const workers = [clm.app.get(WebhookDeliveryWorker), second.app.get(WebhookDeliveryWorker)];
      const rounds = await Promise.all([workers[0]!.drain(), workers[1]!.drain(), workers[0]!.drain(), workers[1]!.drain()]);
      // Both instances took part, and together they delivered each event exactly once.
      expect(rounds[0]!.delivered + rounds[2]!.delivered).toBeGreaterThan(0);
      expect(rounds[1]!.delivered + rounds[3]!.delivered).toBeGreaterThan(0);
      expect(receiver.received).toHaveLength(events);
      expect(new Set(receiver.eventIds())).toEqual(new Set(emitted.map((e) => e.id)));
      expect(await prisma.webhookDelivery.count({ where: { status: 'delivered', attempts: 1 } })).toBe(events);
    } finally {
      await second.close();
    }
  });
});
