import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { OCN_PATTERN } from '../../onboarding/identifiers.js';

export class ImportCertificateDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID('all', { message: 'providerId must be a provider id (UUID)' })
  providerId!: string;

  @ApiProperty({ example: '818H', description: "the OCN (SPC) in the certificate's TNAuthList; it must belong to the provider" })
  @Matches(OCN_PATTERN, { message: 'ocn must be 4 characters, digits and uppercase letters (e.g. 818H)' })
  ocn!: string;

  @ApiProperty({ description: 'PEM certificate chain: the end-entity certificate first, then its issuers' })
  @IsString({ message: 'chainPem must be a PEM text' }) @MaxLength(65_536, { message: 'chainPem must be at most 64 KiB' })
  chainPem!: string;

  @ApiPropertyOptional({ description: "the certificate's P-256 private key (SEC1 or PKCS#8 PEM, unencrypted); sealed at rest, never returned. Optional when the service already holds it." })
  @IsOptional() @IsString({ message: 'privateKeyPem must be a PEM text' }) @MaxLength(16_384, { message: 'privateKeyPem must be at most 16 KiB' })
  privateKeyPem?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'the STI-CA renewals are ordered from; default the only registered STI-CA' })
  @IsOptional() @IsUUID('all', { message: 'stiCaId must be an STI-CA id (UUID)' })
  stiCaId?: string;
}
