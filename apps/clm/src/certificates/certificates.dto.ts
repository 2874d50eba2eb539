import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsUUID, Matches, Max, Min } from 'class-validator';
import { OCN_PATTERN } from '../onboarding/identifiers.js';

export const CERTIFICATE_STATES = [
  'requested', 'ordering', 'issued', 'checked', 'publishing', 'published', 'active', 'superseded', 'expired', 'revoked', 'failed',
] as const;
export type CertificateState = (typeof CERTIFICATE_STATES)[number];

export class RequestCertificateDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'providerId must be a provider id (UUID)' })
  providerId!: string;

  @ApiProperty({ example: '818H', description: 'the OCN (SPC) the certificate is for; it must belong to the provider' })
  @Matches(OCN_PATTERN, { message: 'ocn must be 4 characters, digits and uppercase letters (e.g. 818H)' })
  ocn!: string;

  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'stiCaId must be an STI-CA id (UUID)' })
  stiCaId!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 398, description: 'requested validity; default the STI-CA setting, else the CA decides' })
  @IsOptional() @IsInt() @Min(1) @Max(398)
  validityDays?: number;
}

export class ListCertificatesQueryDto {
  @ApiPropertyOptional({ example: '818H' })
  @IsOptional() @Matches(OCN_PATTERN, { message: 'ocn must be 4 characters, digits and uppercase letters (e.g. 818H)' })
  ocn?: string;

  @ApiPropertyOptional({ enum: CERTIFICATE_STATES })
  @IsOptional() @IsIn(CERTIFICATE_STATES, { message: `state must be one of ${CERTIFICATE_STATES.join(', ')}` })
  state?: CertificateState;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional() @IsUUID('all', { message: 'providerId must be a provider id (UUID)' })
  providerId?: string;
}
