import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsEmail, IsIn, IsOptional, IsString, IsUrl, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import { FILER_499_PATTERN, FRN_PATTERN, OCN_PATTERN, RMD_PATTERN } from './identifiers.js';

export class ContactDto {
  @ApiProperty({ example: 'compliance' }) @IsString() @Length(1, 50) role!: string;
  @ApiProperty() @IsString() @Length(1, 200) name!: string;
  @ApiProperty() @IsEmail() email!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(30) phone?: string;
}

export class CreateProviderDto {
  @ApiProperty({ example: 'Example Telecom LLC', description: 'legal name, as in the certificate subject O=' })
  @IsString() @Length(2, 200)
  legalName!: string;

  @ApiProperty({ example: '0012345678', description: 'FCC Registration Number, 10 digits' })
  @Matches(FRN_PATTERN, { message: 'frn must be the 10-digit FCC Registration Number' })
  frn!: string;

  @ApiPropertyOptional({ example: '831234', description: 'Form 499-A filer ID, 6 digits' })
  @IsOptional() @Matches(FILER_499_PATTERN, { message: 'filer499Id must be the 6-digit Form 499-A filer ID' })
  filer499Id?: string;

  @ApiPropertyOptional({ example: 'RMD0012345', description: 'Robocall Mitigation Database number' })
  @IsOptional() @Matches(RMD_PATTERN, { message: 'rmdNumber must be RMD followed by digits, e.g. RMD0012345' })
  rmdNumber?: string;

  @ApiProperty({ example: 'stir-shaken@example.net' })
  @IsEmail({}, { message: 'contactEmail must be an email address' })
  contactEmail!: string;

  @ApiPropertyOptional({ type: [ContactDto] })
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => ContactDto)
  contacts?: ContactDto[];
}

export class UpdateProviderDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(2, 200) legalName?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(FILER_499_PATTERN, { message: 'filer499Id must be the 6-digit Form 499-A filer ID' }) filer499Id?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(RMD_PATTERN, { message: 'rmdNumber must be RMD followed by digits, e.g. RMD0012345' }) rmdNumber?: string;
  @ApiPropertyOptional() @IsOptional() @IsEmail({}, { message: 'contactEmail must be an email address' }) contactEmail?: string;
  @ApiPropertyOptional({ type: [ContactDto] }) @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => ContactDto) contacts?: ContactDto[];
}

export class AddOcnDto {
  @ApiProperty({ example: '818H', description: 'NECA OCN: 4 characters, digits and uppercase letters' })
  @Matches(OCN_PATTERN, { message: 'ocn must be 4 characters, digits and uppercase letters (e.g. 818H)' })
  ocn!: string;
}

export const STI_PA_ENVIRONMENTS = ['sandbox', 'staging', 'production'] as const;

export class PutStiPaAccountDto {
  @ApiProperty({ enum: STI_PA_ENVIRONMENTS }) @IsIn(STI_PA_ENVIRONMENTS) environment!: (typeof STI_PA_ENVIRONMENTS)[number];

  @ApiProperty({ example: 'https://authenticate-api-stg.iconectiv.com/api/v1' })
  @IsUrl({ protocols: ['https'], require_protocol: true, require_tld: false }, { message: 'baseUrl must be an https URL' })
  baseUrl!: string;

  @ApiProperty({ description: 'the STI-PA "API User" id' }) @IsString() @Length(1, 200) userId!: string;

  @ApiProperty({ description: 'stored sealed; never returned', writeOnly: true }) @IsString() @Length(1, 500) password!: string;
}

export class SuspendSigningDto {
  @ApiProperty({ example: 'SPC token revoked by the STI-GA (notice 2026-11-20)', description: 'why: recorded in the audit log, the webhook and readiness' })
  @IsString() @Length(1, 500)
  reason!: string;
}
