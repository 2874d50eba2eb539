import { Injectable } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { JobRunner } from '../jobs/job-runner.service.js';
import { CertificateExpiry } from './certificate-expiry.service.js';
import { RenewalScheduler } from './renewal-scheduler.service.js';
import { RevocationService } from './revocation.service.js';

export const RENEWAL_SCAN_JOB = 'renewal.scan';
export const EXPIRY_JOB = 'certificates.expire';
export const PENDING_REVOCATIONS_JOB = 'certificates.pending-revocations';

/** Schedules only (ARCHITECTURE.md habit 7); the work is in the services, tested directly. */
@Injectable()
export class RenewalJobs {
  constructor(
    private readonly runner: JobRunner,
    private readonly renewals: RenewalScheduler,
    private readonly expiry: CertificateExpiry,
    private readonly revocations: RevocationService,
  ) {}

  @Cron(CronExpression.EVERY_10_MINUTES, { name: RENEWAL_SCAN_JOB })
  scan(): Promise<void> {
    return this.runner.trigger(RENEWAL_SCAN_JOB, async () => ({ ...(await this.renewals.scan()) }));
  }

  @Cron('0 5 * * * *', { name: EXPIRY_JOB })
  expire(): Promise<void> {
    return this.runner.trigger(EXPIRY_JOB, () => this.expiry.expireLapsed());
  }

  @Cron(CronExpression.EVERY_MINUTE, { name: PENDING_REVOCATIONS_JOB })
  completeRevocations(): Promise<void> {
    return this.runner.trigger(PENDING_REVOCATIONS_JOB, () => this.revocations.completePendingRevocations());
  }
}
