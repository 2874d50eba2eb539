import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import pg from 'pg';
import { CLM_CONFIG, DATABASE_URL } from '../config/config.module.js';
import type { ClmConfig } from '../config/config.js';

/** Advisory lock key naming "the scheduler" (any constant; documented so operators can find it). */
export const SCHEDULER_LOCK_KEY = 0x5348414b; // "SHAK"

/**
 * One scheduler across replicas (ARCHITECTURE.md habit 7): the replica whose dedicated session
 * holds a PostgreSQL advisory lock runs the periodic jobs. The lock lives exactly as long as
 * that session, so a crashed or partitioned leader loses it without any lease to expire, and
 * another replica takes over at its next attempt. Work claimed per row (orders, deliveries)
 * does not depend on this: it uses row locks and is safe on every replica.
 */
@Injectable()
export class SchedulerLeader implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SchedulerLeader');
  private client: pg.Client | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
  ) {}

  onModuleInit(): void {
    if (!this.config.jobsEnabled) return;
    void this.tryAcquire();
    this.timer = setInterval(() => void this.tryAcquire(), 15_000);
    this.timer.unref();
  }

  /** True when this replica runs the periodic jobs now. */
  isLeader(): boolean {
    return this.config.jobsEnabled && this.leader;
  }

  /** Makes one attempt now (tests call it to avoid waiting for the interval). */
  async tryAcquire(): Promise<boolean> {
    if (this.stopped) return false;
    if (this.leader) return this.heartbeat();
    try {
      if (!this.client) {
        const client = new pg.Client({
          connectionString: this.databaseUrl,
          application_name: 'shaken-clm scheduler',
          // A half-open TCP session would otherwise keep us believing we lead long after the
          // server dropped the backend (and its lock) and another replica took over.
          keepAlive: true,
          query_timeout: 5_000,
          connectionTimeoutMillis: 5_000,
        });
        client.on('error', (error) => this.lose(`session error: ${error.message}`));
        client.on('end', () => this.lose('session ended'));
        await client.connect();
        this.client = client;
      }
      const result = await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SCHEDULER_LOCK_KEY]);
      this.leader = result.rows[0]?.locked === true;
      if (this.leader) this.logger.log({ msg: 'this replica is the scheduler leader', component: 'jobs' });
    } catch (error) {
      this.lose(error instanceof Error ? error.message : String(error));
    }
    return this.leader;
  }

  /** The lock lives with the session: a session that still answers still holds it. */
  private async heartbeat(): Promise<boolean> {
    try {
      await this.client?.query('SELECT 1');
    } catch (error) {
      this.lose(`heartbeat failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return this.leader;
  }

  private lose(reason: string): void {
    if (this.leader) this.logger.warn({ msg: 'scheduler leadership lost', reason, component: 'jobs' });
    this.leader = false;
    const client = this.client;
    this.client = null;
    void client?.end().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.leader = false;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
