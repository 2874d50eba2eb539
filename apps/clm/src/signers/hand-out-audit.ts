import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { Clock } from '../common/clock.js';

/** A key handed to a signer (one 200 of the pull API). */
export interface HandOutRecord {
  readonly signerId: string;
  readonly ocn: string;
  readonly certificateId: string;
  readonly keyFormat: string;
  readonly sourceAddress: string;
  readonly correlationId: string;
}

/** Answers that carry no key and are counted rather than written one by one. */
export type CountedAnswer = 'key.hand_out_unchanged' | 'passport.signed';

export interface CountedEvent {
  readonly action: CountedAnswer;
  readonly signerId: string;
  readonly ocn: string;
  readonly certificateId: string;
  readonly sourceAddress: string;
}

/** Counts are written to the audit log this often by each replica (and when it stops). */
export const COUNT_FLUSH_INTERVAL_MS = 60_000;
/** Rows per INSERT when hand-outs queue up. */
const MAX_BATCH = 500;
/**
 * INSERTs in flight at once. One alone makes a hand-out arriving just after a batch left wait for
 * that batch and then its own; a few overlap those round trips (PostgreSQL group-commits them)
 * and still leave most of the pool (pg's default 10) to everything else.
 */
const MAX_WRITERS = 3;

interface Queued {
  readonly record: HandOutRecord;
  readonly at: Date;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Tally {
  readonly event: CountedEvent;
  count: number;
  readonly from: Date;
  to: Date;
}

/**
 * The audit trail of the signer API.
 *
 * Every key hand-out gets its own audit row (`key.hand_out`: signer, certificate, OCN, key format,
 * source address, correlation id) *before* the key leaves: `recordHandOut` settles only once the
 * row is committed, and the caller answers 503 instead of 200 when it fails. Rows are group-
 * committed: while MAX_WRITERS INSERTs are in flight the next hand-outs queue and go together in
 * the next one, so a burst of pulls costs one round trip per batch, not per pull.
 *
 * 304s (`key.hand_out_unchanged`) and PASSporTs signed for a signer (`passport.signed`) carry no
 * key: they are counted in memory per signer, OCN, certificate and source address, and written
 * as one row per tally every COUNT_FLUSH_INTERVAL_MS and at shutdown (a crash loses at most that
 * interval's counts, never a hand-out). The same flush updates signer_clients.last_seen_at.
 */
@Injectable()
export class HandOutAudit implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SignerHandOff');
  private queue: Queued[] = [];
  private writers = 0;
  private tallies = new Map<string, Tally>();
  private lastSeen = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly prisma: PrismaService,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flushCounts().catch(() => undefined), COUNT_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flushCounts().catch(() => undefined);
  }

  /** Settles when the hand-out's audit row is committed; rejects when it could not be written. */
  recordHandOut(record: HandOutRecord): Promise<void> {
    const at = this.clock.now();
    this.lastSeen.set(record.signerId, at);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, at, resolve, reject });
      if (this.writers < MAX_WRITERS) void this.writeQueued();
    });
  }

  count(event: CountedEvent): void {
    const at = this.clock.now();
    this.lastSeen.set(event.signerId, at);
    const key = `${event.action}\n${event.signerId}\n${event.ocn}\n${event.certificateId}\n${event.sourceAddress}`;
    const tally = this.tallies.get(key);
    if (tally) {
      tally.count += 1;
      tally.to = at;
    } else {
      this.tallies.set(key, { event, count: 1, from: at, to: at });
    }
  }

  /** Writes the counts gathered so far (one row per tally) and the signers' last-seen times. */
  async flushCounts(): Promise<void> {
    const tallies = [...this.tallies.values()];
    const lastSeen = [...this.lastSeen.entries()];
    this.tallies = new Map();
    this.lastSeen = new Map();
    if (tallies.length === 0 && lastSeen.length === 0) return;
    try {
      await this.prisma.auditEvent.createMany({
        data: tallies.map(({ event, count, from, to }) => ({
          at: to,
          actorType: 'signer' as const,
          actorId: event.signerId,
          action: event.action,
          subjectType: 'certificate',
          subjectId: event.certificateId,
          details: { ocn: event.ocn, count, from: from.toISOString(), to: to.toISOString() },
          sourceAddress: event.sourceAddress,
        })),
      });
      for (const [signerId, at] of lastSeen) {
        await this.prisma.signerClient.updateMany({ where: { id: signerId, OR: [{ lastSeenAt: null }, { lastSeenAt: { lt: at } }] }, data: { lastSeenAt: at } });
      }
    } catch (error) {
      // Put the counts back so the next flush writes them.
      for (const tally of tallies) this.mergeBack(tally);
      for (const [signerId, at] of lastSeen) if (!this.lastSeen.has(signerId)) this.lastSeen.set(signerId, at);
      this.logger.warn({ msg: 'signer hand-off counts not written; retrying at the next flush', component: 'signers', error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  private mergeBack(tally: Tally): void {
    const { event } = tally;
    const key = `${event.action}\n${event.signerId}\n${event.ocn}\n${event.certificateId}\n${event.sourceAddress}`;
    const newer = this.tallies.get(key);
    if (newer) this.tallies.set(key, { event, count: tally.count + newer.count, from: tally.from, to: newer.to });
    else this.tallies.set(key, tally);
  }

  /**
   * One INSERT for the batch, of the same shape whatever its size (arrays unnested in SQL). Not
   * createMany: its statement differs with every row count, and compiling it was a quarter of the
   * service's CPU at a few thousand hand-outs per second (bench/signer-pull.ts, --cpu-prof).
   */
  private async insertHandOuts(batch: readonly Queued[]): Promise<void> {
    const column = <T>(pick: (queued: Queued) => T): T[] => batch.map(pick);
    await this.prisma.$executeRaw`
      INSERT INTO audit_events (at, actor_type, actor_id, action, subject_type, subject_id, details, correlation_id, source_address)
      SELECT t.at, 'signer'::audit_actor_type, t.actor_id, 'key.hand_out', 'certificate', t.subject_id, t.details, t.correlation_id, t.source_address
      FROM unnest(
        ${column((q) => q.at.toISOString())}::timestamptz[],
        ${column((q) => q.record.signerId)}::text[],
        ${column((q) => q.record.certificateId)}::text[],
        ${column((q) => JSON.stringify({ ocn: q.record.ocn, keyFormat: q.record.keyFormat }))}::jsonb[],
        ${column((q) => q.record.correlationId)}::text[],
        ${column((q) => q.record.sourceAddress)}::text[]
      ) AS t(at, actor_id, subject_id, details, correlation_id, source_address)`;
  }

  private async writeQueued(): Promise<void> {
    this.writers += 1;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.insertHandOuts(batch);
          for (const queued of batch) queued.resolve();
        } catch (error) {
          this.logger.error({ msg: 'key hand-out audit rows not written; those hand-outs were refused', component: 'signers', rows: batch.length, error: error instanceof Error ? error.message : String(error) });
          for (const queued of batch) queued.reject(error);
        }
      }
    } finally {
      this.writers -= 1;
    }
  }
}
