import { hostname } from 'node:os';
import { Injectable, Logger } from '@nestjs/common';
import { type Prisma, PrismaService } from '@app/db';
import { SchedulerLeader } from './scheduler-leader.service.js';

export const INSTANCE_ID = `${hostname()}:${process.pid}`;

/**
 * Runs one scheduled job: only on the leader, never twice at once in this process, with a
 * JobRun row recording when, where and how it ended. Cron handlers call `trigger` and nothing
 * else (ARCHITECTURE.md habit 7); the work itself is a service method tested directly.
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger('JobRunner');
  private readonly running = new Set<string>();

  constructor(
    private readonly prisma: PrismaService,
    private readonly leader: SchedulerLeader,
  ) {}

  /** For cron handlers: skips unless this replica leads; errors are recorded, not thrown. */
  async trigger(job: string, work: () => Promise<Prisma.InputJsonValue | void>): Promise<void> {
    if (!this.leader.isLeader()) return;
    await this.run(job, work).catch(() => undefined);
  }

  /** Runs now regardless of leadership (on-demand runs and tests); rethrows the job's error. */
  async run<T extends Prisma.InputJsonValue | void>(job: string, work: () => Promise<T>): Promise<T | undefined> {
    if (this.running.has(job)) {
      this.logger.warn({ msg: 'previous run still in progress; skipped', job, component: 'jobs' });
      return undefined;
    }
    this.running.add(job);
    const run = await this.prisma.jobRun.create({ data: { job, instance: INSTANCE_ID } });
    try {
      const summary = await work();
      await this.prisma.jobRun.update({ where: { id: run.id }, data: { finishedAt: new Date(), ok: true, summary: summary ?? undefined } });
      return summary;
    } catch (error) {
      const message = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
      this.logger.error({ msg: 'job failed', job, error: message, component: 'jobs' });
      await this.prisma.jobRun.update({ where: { id: run.id }, data: { finishedAt: new Date(), ok: false, error: message.slice(0, 2000) } });
      throw error;
    } finally {
      this.running.delete(job);
    }
  }
}
