import { Module } from '@nestjs/common';
import { MonitoringModule } from '../../monitoring/monitoring.module.js';
import { ReadinessController } from './readiness.controller.js';
import { ReadinessService } from './readiness.service.js';
import { StiPaLoginCheck } from './sti-pa-login-check.js';

/** GET /api/v1/providers/{id}/readiness; the STI-PA client and SPC token probe come from monitoring. */
@Module({
  imports: [MonitoringModule],
  controllers: [ReadinessController],
  providers: [ReadinessService, StiPaLoginCheck],
})
export class ReadinessModule {}
