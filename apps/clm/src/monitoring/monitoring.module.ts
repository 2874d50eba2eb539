import { Module } from '@nestjs/common';
import { ProcurementModule } from '../procurement/procurement.module.js';
import { StiClients } from '../procurement/sti-clients.js';
import { StiPaTrust } from '../procurement/sti-pa-trust.js';
import { KeyRetirementModule } from '../renewal/key-retirement.module.js';
import { ExpiryWarnings } from './expiry-warnings.js';
import { MonitoringController } from './monitoring.controller.js';
import { MonitoringJobs } from './monitoring.jobs.js';
import { SpcTokenProbe } from './spc-token-probe.js';
import { SpcTokenWatch } from './spc-token-watch.js';
import { StiPaCaListMonitor } from './sti-pa-ca-list-monitor.js';
import { StiPaCrlMonitor } from './sti-pa-crl-monitor.js';

/**
 * Watching the STI ecosystem (issue 5): the STI-PA CRL and CA list, SPC token obtainability and
 * refusal, expiry warnings. Procurement's STI-PA/STI-CA client factory and trust are reused by
 * class (procurement does not export them), so this feature holds its own instances and login
 * sessions; renewal and readiness use these.
 */
@Module({
  // FreshKeyReplacement: an active certificate found on the CRL is replaced at once;
  // KeyRetirement: a key the CRL lists as compromised is retired as an operator's keyCompromise is.
  imports: [ProcurementModule, KeyRetirementModule],
  controllers: [MonitoringController],
  providers: [StiClients, StiPaTrust, StiPaCrlMonitor, StiPaCaListMonitor, SpcTokenProbe, SpcTokenWatch, ExpiryWarnings, MonitoringJobs],
  exports: [StiClients, StiPaTrust, SpcTokenProbe, StiPaCaListMonitor],
})
export class MonitoringModule {}
