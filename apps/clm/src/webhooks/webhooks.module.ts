import { Global, Module } from '@nestjs/common';
import { LifecycleEvents } from './lifecycle-events.service.js';
import { WebhookDeliveryWorker } from './webhook-delivery-worker.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Lifecycle events and the webhooks they go to (issue 5). Global so that any feature can inject
 * LifecycleEvents and call `emit(tx, event)` inside the transaction that makes the change.
 */
@Global()
@Module({
  controllers: [WebhooksController],
  providers: [LifecycleEvents, WebhooksService, WebhookSender, WebhookDeliveryWorker],
  exports: [LifecycleEvents, WebhookDeliveryWorker],
})
export class WebhooksModule {}
