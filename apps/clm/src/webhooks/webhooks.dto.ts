import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { ALL_EVENTS, LIFECYCLE_EVENT_TYPES } from './lifecycle-event-types.js';

const SUBSCRIBABLE = [...LIFECYCLE_EVENT_TYPES, ALL_EVENTS] as const;
const EVENTS_MESSAGE = `each event must be one of ${SUBSCRIBABLE.join(', ')}`;

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://hooks.example.net/shaken-clm', description: 'https; plain http only for loopback receivers' })
  @IsString() @Length(1, 2_000)
  url!: string;

  @ApiProperty({ enum: SUBSCRIBABLE, isArray: true, example: ['certificate.activated', 'certificate.renewal_failed'], description: '"*" subscribes to every event' })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(SUBSCRIBABLE.length) @ArrayUnique() @IsIn(SUBSCRIBABLE, { each: true, message: EVENTS_MESSAGE })
  events!: string[];

  @ApiPropertyOptional({ writeOnly: true, description: 'HMAC-SHA256 signing secret (at least 32 characters); default a generated one, shown once' })
  @IsOptional() @IsString() @Length(32, 256)
  secret?: string;

  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean()
  active?: boolean;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 2_000)
  url?: string;

  @ApiPropertyOptional({ enum: SUBSCRIBABLE, isArray: true })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(SUBSCRIBABLE.length) @ArrayUnique() @IsIn(SUBSCRIBABLE, { each: true, message: EVENTS_MESSAGE })
  events?: string[];

  @ApiPropertyOptional({ description: 'false pauses deliveries (they wait, and go out when it is true again)' })
  @IsOptional() @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ description: 'replace the signing secret with a generated one, shown once in the answer' })
  @IsOptional() @IsBoolean()
  rotateSecret?: boolean;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

export class ListDeliveriesQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional() @IsIn(DELIVERY_STATUSES, { message: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: (typeof DELIVERY_STATUSES)[number];

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;
}
