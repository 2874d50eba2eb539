import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import { CreateWebhookDto, ListDeliveriesQueryDto, UpdateWebhookDto } from './webhooks.dto.js';
import { WebhooksService, type WebhookDeliveryView, type WebhookView, type WebhookWithSecretView } from './webhooks.service.js';

@AdminApi('webhooks')
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({ summary: 'register a receiver; the answer shows the signing secret, once' })
  create(@Body() body: CreateWebhookDto, @Actor() actor: AdminActor): Promise<WebhookWithSecretView> {
    return this.webhooks.create(body, actor);
  }

  @Get()
  list(): Promise<WebhookView[]> {
    return this.webhooks.list();
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookView> {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  update(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: UpdateWebhookDto, @Actor() actor: AdminActor): Promise<WebhookView> {
    return this.webhooks.update(id, body, actor);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', new ParseUUIDPipe()) id: string, @Actor() actor: AdminActor): Promise<void> {
    return this.webhooks.remove(id, actor);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'deliveries, newest first: status, attempts, next attempt, last HTTP status and error' })
  deliveries(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: ListDeliveriesQueryDto): Promise<WebhookDeliveryView[]> {
    return this.webhooks.deliveries(id, query);
  }

  @Post(':id/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'queue a signed webhook.test event for this receiver' })
  test(@Param('id', new ParseUUIDPipe()) id: string, @Actor() actor: AdminActor): Promise<WebhookDeliveryView> {
    return this.webhooks.sendTest(id, actor);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  retry(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('deliveryId', new ParseUUIDPipe()) deliveryId: string,
    @Actor() actor: AdminActor,
  ): Promise<WebhookDeliveryView> {
    return this.webhooks.retry(id, deliveryId, actor);
  }
}
