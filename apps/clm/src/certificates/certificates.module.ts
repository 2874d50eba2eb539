import { Module } from '@nestjs/common';
import { ProcurementModule } from '../procurement/procurement.module.js';
import { CertificatesController } from './certificates.controller.js';
import { CertificatesService } from './certificates.service.js';

/** The certificates admin API (request, list, show) over procurement. */
@Module({
  imports: [ProcurementModule],
  controllers: [CertificatesController],
  providers: [CertificatesService],
  exports: [CertificatesService, ProcurementModule],
})
export class CertificatesModule {}
