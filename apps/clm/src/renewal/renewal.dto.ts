import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min, ValidateIf } from 'class-validator';
import { KEY_ROTATIONS } from '../onboarding/sti-cas.dto.js';
import { SUBSCRIBER_REVOCATION_REASONS, type SubscriberRevocationReason } from './revocation-reasons.js';

export class RenewCertificateDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 398, description: 'validity of the new certificate; default what the renewed one asked for' })
  @IsOptional() @IsInt() @Min(1) @Max(398)
  validityDays?: number;
}

export class RevokeCertificateDto {
  @ApiProperty({ enum: SUBSCRIBER_REVOCATION_REASONS, description: 'RFC 5280 §5.3.1 CRLReason sent to the STI-CA' })
  @IsIn(SUBSCRIBER_REVOCATION_REASONS, { message: `reason must be one of ${SUBSCRIBER_REVOCATION_REASONS.join(', ')}` })
  reason!: SubscriberRevocationReason;

  @ApiPropertyOptional({ default: false, description: 'order a replacement first; revoke once it is active (202, revocation_pending)' })
  @IsOptional() @IsBoolean()
  replace?: boolean;
}

/**
 * A renewal policy change: a field left out stays as it is, `null` returns it to the inherited
 * value (certificate → STI-CA → service default: one third of the lifetime, at least 30 days for
 * long certificates; key rotation `always`; validity chosen by the CA).
 */
export class RenewalPolicyDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 365, nullable: true, description: 'renew this many days before notAfter; at most half the lifetime, at least 1 day (or the backoff cap); refused (422) outside that when the lifetime is known, clamped at activation otherwise' })
  @ValidateIf((_, value) => value !== null && value !== undefined) @IsInt() @Min(1) @Max(365)
  renewBeforeDays?: number | null;

  @ApiPropertyOptional({ enum: KEY_ROTATIONS, nullable: true, description: 'always: a new key at each renewal; never: reuse the key' })
  @ValidateIf((_, value) => value !== null && value !== undefined) @IsIn(KEY_ROTATIONS)
  keyRotation?: (typeof KEY_ROTATIONS)[number] | null;

  @ApiPropertyOptional({ minimum: 1, maximum: 398, nullable: true, description: 'validity requested at renewal' })
  @ValidateIf((_, value) => value !== null && value !== undefined) @IsInt() @Min(1) @Max(398)
  validityDays?: number | null;
}
