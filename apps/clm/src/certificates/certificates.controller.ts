import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse } from '@nestjs/swagger';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import { ProcurementService } from '../procurement/procurement.service.js';
import type { CertificateView } from './certificate-views.js';
import { ListCertificatesQueryDto, RequestCertificateDto } from './certificates.dto.js';
import { CertificatesService } from './certificates.service.js';

@AdminApi('certificates')
@Controller('api/v1/certificates')
export class CertificatesController {
  constructor(
    private readonly procurement: ProcurementService,
    private readonly certificates: CertificatesService,
  ) {}

  /** Starts ordering a certificate; the work continues in the background (GET shows progress). */
  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'the certificate and its order were created in state requested / key_generated' })
  async request(@Body() body: RequestCertificateDto, @Actor() actor: AdminActor): Promise<CertificateView> {
    const { certificateId } = await this.procurement.requestCertificate(body, { type: 'admin', admin: actor });
    return this.certificates.get(certificateId);
  }

  @Get()
  list(@Query() query: ListCertificatesQueryDto): Promise<CertificateView[]> {
    return this.certificates.list(query);
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<CertificateView> {
    return this.certificates.get(id);
  }
}
