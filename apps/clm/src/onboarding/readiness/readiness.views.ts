import { ApiProperty } from '@nestjs/swagger';
import { READINESS_STATUSES, type ReadinessStatus } from './readiness-item.js';

/** OpenAPI shapes of GET /api/v1/providers/{id}/readiness. */
export class ReadinessItemView {
  @ApiProperty({ enum: READINESS_STATUSES, description: 'ok; missing: not set up yet; failing: set up but not working now' }) status!: ReadinessStatus;
  @ApiProperty({ description: 'why, in words' }) reason!: string;
  @ApiProperty({ type: String, nullable: true, description: 'what to do next (an API call or clm command); null when ok' }) nextStep!: string | null;
}

export class ProviderReadinessItemsView {
  @ApiProperty({ type: ReadinessItemView, description: 'FCC Registration Number on file' }) frn!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'Form 499-A filer ID on file' }) filer499!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'Robocall Mitigation Database number on file' }) rmd!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'the STI-PA API user logs in now' }) stiPaAccount!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: "the provider's signing is not suspended (POST /providers/{id}/suspend-signing)" }) signing!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'at least one OCN is onboarded' }) ocns!: ReadinessItemView;
}

export class OcnReadinessItemsView {
  @ApiProperty({ type: ReadinessItemView }) frn!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView }) filer499!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView }) rmd!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView }) stiPaAccount!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView }) signing!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'a valid ACME account at the STI-CA the OCN orders from' }) stiCaAccount!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'a verified SPC token is stored or the STI-PA grants one now' }) spcToken!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'an active certificate within its validity' }) activeCertificate!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: "the active certificate's x5u passed its latest verifier check" }) publishedUrl!: ReadinessItemView;
  @ApiProperty({ type: ReadinessItemView, description: 'an enabled signer client is scoped to the OCN' }) signer!: ReadinessItemView;
}

export class OcnReadinessView {
  @ApiProperty({ example: '818H' }) ocn!: string;
  @ApiProperty({ description: 'every item ok' }) ready!: boolean;
  @ApiProperty({ type: OcnReadinessItemsView }) items!: OcnReadinessItemsView;
}

export class ProviderReadinessView {
  @ApiProperty({ format: 'uuid' }) providerId!: string;
  @ApiProperty() legalName!: string;
  @ApiProperty({ description: 'every provider item and every OCN ready (and at least one OCN)' }) ready!: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) checkedAt!: Date;
  @ApiProperty({ type: ProviderReadinessItemsView }) provider!: ProviderReadinessItemsView;
  @ApiProperty({ type: [OcnReadinessView] }) ocns!: OcnReadinessView[];
}
