import { Injectable } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import type { Prisma } from '@app/db';
import { JobRunner } from '../jobs/job-runner.service.js';
import { ExpiryWarnings } from './expiry-warnings.js';
import { SpcTokenWatch } from './spc-token-watch.js';
import { StiPaCaListMonitor } from './sti-pa-ca-list-monitor.js';
import { StiPaCrlMonitor } from './sti-pa-crl-monitor.js';

export const CRL_JOB = 'sti-pa.crl';
export const CA_LIST_JOB = 'sti-pa.ca-list';
export const SPC_TOKEN_JOB = 'sti-pa.spc-tokens';
export const EXPIRY_WARNING_JOB = 'certificates.expiry-warnings';

/**
 * Schedules only (ARCHITECTURE.md habit 7). The CRL and CA list jobs wake often but download
 * only what is due (12 h / 24 h since the last good copy, or its nextUpdate / exp if sooner).
 */
@Injectable()
export class MonitoringJobs {
  constructor(
    private readonly runner: JobRunner,
    private readonly crl: StiPaCrlMonitor,
    private readonly caList: StiPaCaListMonitor,
    private readonly tokens: SpcTokenWatch,
    private readonly expiry: ExpiryWarnings,
  ) {}

  @Cron(CronExpression.EVERY_10_MINUTES, { name: CRL_JOB })
  refreshCrl(): Promise<void> {
    return this.runner.trigger(CRL_JOB, async () => asJson({ results: await this.crl.refreshDue() }));
  }

  @Cron('0 15 * * * *', { name: CA_LIST_JOB })
  refreshCaList(): Promise<void> {
    return this.runner.trigger(CA_LIST_JOB, async () => asJson({ results: await this.caList.refreshDue() }));
  }

  @Cron('0 25 * * * *', { name: SPC_TOKEN_JOB })
  watchTokens(): Promise<void> {
    return this.runner.trigger(SPC_TOKEN_JOB, async () => ({ ...(await this.tokens.run()) }));
  }

  @Cron('0 35 * * * *', { name: EXPIRY_WARNING_JOB })
  warnExpiring(): Promise<void> {
    return this.runner.trigger(EXPIRY_WARNING_JOB, () => this.expiry.run());
  }
}

/** Job summaries are stored as JSON: optional fields left out rather than undefined. */
function asJson(value: object): Prisma.InputJsonValue {
  return JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue;
}
