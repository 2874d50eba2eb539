import { Module } from '@nestjs/common';
import { ProcurementModule } from '../procurement/procurement.module.js';
import { StiClients } from '../procurement/sti-clients.js';
import { CertificateRevoker } from './certificate-revoker.js';
import { KeyRetirement } from './key-retirement.service.js';

/**
 * Revoking certificates at the CA and retiring a compromised key: one routine for the operator's
 * revocations (RenewalModule) and for keyCompromise found on the STI-PA CRL (MonitoringModule),
 * which RenewalModule itself imports — hence a module of its own.
 */
@Module({
  imports: [ProcurementModule],
  providers: [StiClients, CertificateRevoker, KeyRetirement],
  exports: [CertificateRevoker, KeyRetirement],
})
export class KeyRetirementModule {}
