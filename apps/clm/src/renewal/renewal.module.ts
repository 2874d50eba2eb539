import { Module } from '@nestjs/common';
import { CertificatesModule } from '../certificates/certificates.module.js';
import { MonitoringModule } from '../monitoring/monitoring.module.js';
import { ProcurementModule } from '../procurement/procurement.module.js';
import { CertificateExpiry } from './certificate-expiry.service.js';
import { KeyRetirementModule } from './key-retirement.module.js';
import { RenewalController, RenewalScanController, StiCaRenewalPolicyController } from './renewal.controller.js';
import { RenewalJobs } from './renewal.jobs.js';
import { RenewalPolicyService } from './renewal-policy.service.js';
import { RenewalScheduler } from './renewal-scheduler.service.js';
import { RevocationService } from './revocation.service.js';

/**
 * Renewal and revocation (issue 5): the scan that renews what is due (through procurement), the
 * expiry of superseded certificates, manual renew/revoke, renewal policies.
 */
@Module({
  imports: [ProcurementModule, CertificatesModule, MonitoringModule, KeyRetirementModule],
  controllers: [RenewalController, StiCaRenewalPolicyController, RenewalScanController],
  providers: [RenewalScheduler, CertificateExpiry, RevocationService, RenewalPolicyService, RenewalJobs],
  exports: [RenewalScheduler, CertificateExpiry, RevocationService],
})
export class RenewalModule {}
