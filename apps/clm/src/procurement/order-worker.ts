import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CLM_CONFIG } from '../config/config.module.js';
import type { ClmConfig } from '../config/config.js';
import { INSTANCE_ID } from '../jobs/job-runner.service.js';
import { HaltTestHook } from './halt-test-hook.js';
import { OrderLedger } from './order-ledger.js';
import { OrderProcessor } from './order-processor.js';

/** How long shutdown waits for steps in progress before leaving them to their leases. */
const SHUTDOWN_GRACE_MS = 15_000;

/**
 * Runs due certificate orders on every replica: scans every pollIntervalMs (and at once when a
 * new order is requested), claims up to `concurrency` due orders with FOR UPDATE SKIP LOCKED and
 * a lease (kept alive while a step runs), and drives each through OrderProcessor. Replicas never
 * run the same order at once; an order whose worker died is claimed again when its lease runs out. Off when CLM_JOBS_ENABLED is
 * false (then `drain` runs the same work on demand).
 */
@Injectable()
export class OrderWorker implements OnApplicationBootstrap, OnModuleDestroy {
  /** Unique per worker, so two services in one process (tests) never share a lease. */
  readonly workerId = `${INSTANCE_ID}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('OrderWorker');
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private running = false;
  private stopping = false;

  constructor(
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
    private readonly ledger: OrderLedger,
    private readonly processor: OrderProcessor,
    private readonly hook: HaltTestHook,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.jobsEnabled) return;
    this.running = true;
    this.timer = setInterval(() => this.kick(), this.config.procurement.pollIntervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Looks for due orders now (after a POST); nothing happens while the worker is off. */
  kick(): void {
    if (!this.running || this.stopping || this.hook.halted) return;
    void this.scan();
  }

  /**
   * Works until no order is due (for tests and on-demand runs; jobs may be off). Orders that
   * failed and wait for their retry time are not due and do not keep this waiting.
   */
  async drain(): Promise<void> {
    for (;;) {
      for (const id of await this.ledger.claimDue(this.workerId, this.freeSlots())) this.start(id);
      if (this.inFlight.size === 0) return;
      await Promise.race(this.inFlight.values());
    }
  }

  /** Orders this worker is working on right now. */
  get busy(): number {
    return this.inFlight.size;
  }

  private scan(): Promise<void> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescan = false;
        if (this.hook.halted) return;
        try {
          for (const id of await this.ledger.claimDue(this.workerId, this.freeSlots())) this.start(id);
        } catch (error) {
          this.logger.error({ msg: 'could not claim due certificate orders', err: error });
        }
      } while (this.rescan && !this.stopping);
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private freeSlots(): number {
    return this.stopping ? 0 : this.config.procurement.concurrency - this.inFlight.size;
  }

  private start(orderId: string): void {
    const work = this.processor
      .process(orderId, this.workerId, () => this.stopping)
      .catch((error: unknown) => this.logger.error({ msg: 'certificate order processing crashed', orderId, err: error }))
      .finally(() => {
        this.inFlight.delete(orderId);
        this.kick();
      });
    this.inFlight.set(orderId, work);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    if (this.inFlight.size === 0) return;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.inFlight.values()),
      new Promise((resolve) => (timeout = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
    ]);
    clearTimeout(timeout);
  }
}
