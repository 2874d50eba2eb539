import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse } from '@nestjs/swagger';
import { Actor, AdminApi } from '../../auth/admin-api.decorator.js';
import type { AdminActor } from '../../auth/roles.js';
import { ImportCertificateDto } from './certificate-import.dto.js';
import { CertificateImportService, type ImportedCertificate } from './certificate-import.service.js';

@AdminApi('certificates')
@Controller('api/v1/certificates')
export class CertificateImportController {
  constructor(private readonly imports: CertificateImportService) {}

  /** Brings an existing certificate under management; publishing and activation continue in the background. */
  @Post('import')
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'checked and stored; the certificate is published to the STI-CR and then activated (GET /api/v1/certificates/{id} shows progress)' })
  import(@Body() body: ImportCertificateDto, @Actor() actor: AdminActor): Promise<ImportedCertificate> {
    return this.imports.import(body, { type: 'admin', admin: actor });
  }
}
