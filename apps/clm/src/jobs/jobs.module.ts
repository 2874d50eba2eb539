import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { JobRunner } from './job-runner.service.js';
import { SchedulerLeader } from './scheduler-leader.service.js';

/**
 * Scheduling infrastructure. Features declare their own `@Cron` handlers in `<feature>.jobs.ts`
 * that call `JobRunner.trigger`; this module provides leadership and run records.
 */
@Global()
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [SchedulerLeader, JobRunner],
  exports: [SchedulerLeader, JobRunner],
})
export class JobsModule {}
