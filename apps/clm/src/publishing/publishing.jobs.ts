import { Injectable } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { JobRunner } from '../jobs/job-runner.service.js';
import { PublicationCleanup } from './publication-cleanup.js';
import { PublicationProbe } from './publication-probe.js';

export const PROBE_JOB = 'sti-cr.probe';
export const CLEANUP_JOB = 'sti-cr.cleanup';

/**
 * Schedules only (ARCHITECTURE.md habit 7): the leader re-checks every live x5u once a day and
 * removes chains past their removeAfter; the work is in PublicationProbe and PublicationCleanup.
 */
@Injectable()
export class PublishingJobs {
  constructor(
    private readonly runner: JobRunner,
    private readonly probe: PublicationProbe,
    private readonly cleanup: PublicationCleanup,
  ) {}

  @Cron('0 20 4 * * *', { name: PROBE_JOB })
  probeLiveUrls(): Promise<void> {
    return this.runner.trigger(PROBE_JOB, async () => ({ ...(await this.probe.checkAllLive()) }));
  }

  @Cron('0 50 4 * * *', { name: CLEANUP_JOB })
  removeExpired(): Promise<void> {
    return this.runner.trigger(CLEANUP_JOB, async () => ({ ...(await this.cleanup.removeExpired()) }));
  }
}
