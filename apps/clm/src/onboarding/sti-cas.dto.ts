import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Length, Max, Min, ValidateNested } from 'class-validator';

export class EabDto {
  @ApiProperty({ description: 'External Account Binding key id (RFC 8555 §7.3.4)' }) @IsString() @Length(1, 500) kid!: string;
  @ApiProperty({ description: 'base64url HMAC key; stored sealed, never returned', writeOnly: true })
  @IsString() @Length(16, 500)
  hmacKey!: string;
}

export const IDENTIFIER_ENCODINGS = ['base64url', 'base64'] as const;
export const FINGERPRINT_FORMS = ['spki', 'jwk_thumbprint'] as const;
export const KEY_ROTATIONS = ['always', 'never'] as const;

export class CreateStiCaDto {
  @ApiProperty({ example: 'Sandbox STI-CA' }) @IsString() @Length(1, 100) name!: string;

  @ApiProperty({ example: 'https://127.0.0.1:8445/acme/directory' })
  @IsUrl({ protocols: ['https'], require_protocol: true, require_tld: false }, { message: 'directoryUrl must be an https URL (RFC 8555 §6.1)' })
  directoryUrl!: string;

  @ApiPropertyOptional({ type: EabDto }) @IsOptional() @ValidateNested() @Type(() => EabDto) eab?: EabDto;

  @ApiPropertyOptional({ enum: IDENTIFIER_ENCODINGS, description: 'TNAuthList identifier value: RFC 9448 base64url (default) or padded base64' })
  @IsOptional() @IsIn(IDENTIFIER_ENCODINGS)
  identifierEncoding?: (typeof IDENTIFIER_ENCODINGS)[number];

  @ApiPropertyOptional({ enum: FINGERPRINT_FORMS, description: 'SPC token fingerprint: SHA-256 of the account SPKI (default) or RFC 7638 thumbprint' })
  @IsOptional() @IsIn(FINGERPRINT_FORMS)
  fingerprintForm?: (typeof FINGERPRINT_FORMS)[number];

  @ApiPropertyOptional({ description: 'PEM roots trusted for the directory\'s TLS (a private or sandbox CA)' })
  @IsOptional() @IsString() @Length(1, 64_000)
  trustAnchors?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 398 }) @IsOptional() @IsInt() @Min(1) @Max(398) validityDays?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 365 }) @IsOptional() @IsInt() @Min(0) @Max(365) renewBeforeDays?: number;
  @ApiPropertyOptional({ enum: KEY_ROTATIONS }) @IsOptional() @IsIn(KEY_ROTATIONS) keyRotation?: (typeof KEY_ROTATIONS)[number];
}
