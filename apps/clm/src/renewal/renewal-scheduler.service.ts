import { Injectable, Logger } from '@nestjs/common';
import { Prisma, PrismaService, type Tx } from '@app/db';
import type { AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/domain-error.js';
import { ORDER_CANCELLED, ProcurementService, type RenewalOptions, type StartedOrder } from '../procurement/procurement.service.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';
import { tryClaimForRenewal } from './renewal-claim.js';
import { renewalInProgress } from './renewal-errors.js';

const RENEWAL_SCHEDULER: AuditActor = { type: 'system', component: 'renewal' };

/**
 * After a renewal failed (its order ended `failed`, or procurement refused to start it), the
 * next attempt waits this long: procurement already retried each step with backoff before it
 * gave up, so trying again at once would mostly repeat the same failure. One day keeps several
 * attempts inside the shortest renewal window (a 30-day certificate renews 10 days ahead).
 */
export const RENEWAL_RETRY_AFTER_FAILURE_MS = 24 * 3_600_000;

/** Certificates read per query; the scan repeats until no unseen due certificate is left. */
const SCAN_BATCH = 200;
/**
 * Renewal requests started at once. Each holds two pooled connections (the claim and
 * procurement's own transaction), so this stays well under the pool of 10.
 */
const SCAN_CONCURRENCY = 3;

export type ClaimOutcome = 'started' | 'busy' | 'not_due' | 'refused';

export interface RenewalScanSummary {
  /** Due certificates this scan looked at. */
  readonly due: number;
  /** Renewal orders started. */
  readonly started: number;
  /** Claimed by another replica at that moment, or no longer due when claimed. */
  readonly skipped: number;
  /** Procurement refused to start a renewal (reported as certificate.renewal_failed). */
  readonly refused: number;
  /** Unexpected errors (logged); the certificate stays due for the next scan. */
  readonly errors: number;
  /** Failed renewal orders newly reported as certificate.renewal_failed. */
  readonly failuresReported: number;
  readonly durationMs: number;
}

/**
 * Renews what is due (issue 5): an `active` certificate whose renewAt has passed, or the OCN's
 * active certificate that the STI-PA CRL revoked and that nothing has replaced yet (see
 * revokedUnreplaced), with no order in flight for its OCN and STI-CA and no failed renewal in the
 * last day. Every replica may scan at once; each certificate is claimed (renewal-claim.ts) and
 * re-checked in a fresh snapshot before procurement starts its renewal, so a certificate is never
 * renewed twice. The renewed certificate stays active until procurement activates the new one
 * (which supersedes it).
 */
@Injectable()
export class RenewalScheduler {
  private readonly logger = new Logger('Renewal');

  constructor(
    private readonly prisma: PrismaService,
    private readonly procurement: ProcurementService,
    private readonly events: LifecycleEvents,
    private readonly clock: Clock,
  ) {}

  async scan(): Promise<RenewalScanSummary> {
    const startedAt = performance.now();
    const seen = new Set<string>();
    const counts = { started: 0, skipped: 0, refused: 0, errors: 0 };
    for (;;) {
      const batch = (await this.dueCertificates(SCAN_BATCH + seen.size)).filter((id) => !seen.has(id));
      if (batch.length === 0) break;
      batch.forEach((id) => seen.add(id));
      await forEachLimited(batch, SCAN_CONCURRENCY, async (id) => {
        const outcome = await this.claimAndRenew(id, RENEWAL_SCHEDULER).catch((error: unknown) => {
          this.logger.error({ msg: 'renewal could not be started', certificateId: id, err: error });
          return 'error' as const;
        });
        if (outcome === 'started') counts.started += 1;
        else if (outcome === 'error') counts.errors += 1;
        else if (outcome === 'refused') counts.refused += 1;
        else counts.skipped += 1;
      });
    }
    const failuresReported = await this.reportFailedRenewals();
    const summary = { due: seen.size, ...counts, failuresReported, durationMs: Math.round(performance.now() - startedAt) };
    if (summary.due > 0 || failuresReported > 0) this.logger.log({ msg: 'renewal scan finished', ...summary });
    return summary;
  }

  /**
   * POST /certificates/{id}/renew: the same claim as the scan (so a manual renewal and the
   * scheduler cannot both start one), then procurement's own checks (one order in flight per OCN
   * and STI-CA, a renewable state).
   */
  async renewNow(certificateId: string, actor: AuditActor, options: RenewalOptions = {}): Promise<StartedOrder> {
    let started: StartedOrder | undefined;
    await this.prisma.transaction(async (tx) => {
      if (!(await tryClaimForRenewal(tx, certificateId))) throw renewalInProgress(certificateId);
      started = await this.procurement.requestRenewal(certificateId, actor, options);
    }, { retries: 0, timeoutMs: 60_000 });
    return started!;
  }

  private async dueCertificates(limit: number): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>(dueCertificatesQuery(this.clock.now(), limit));
    return rows.map((row) => row.id);
  }

  private async claimAndRenew(certificateId: string, actor: AuditActor): Promise<ClaimOutcome> {
    // No retries of this transaction: the renewal request commits in its own and must not repeat.
    return this.prisma.transaction(async (tx): Promise<ClaimOutcome> => {
      if (!(await tryClaimForRenewal(tx, certificateId))) return 'busy';
      // A fresh statement after the claim: it sees every renewal a previous holder committed.
      const due = await this.stillDue(tx, certificateId);
      if (!due) return 'not_due';
      try {
        // The revoked certificate's key is not reused, whatever the key rotation says: the
        // replacement the CRL monitor started did the same (procurement/fresh-key-replacement.ts).
        await this.procurement.requestRenewal(certificateId, actor, due === 'revoked' ? { freshKey: true } : {});
        return 'started';
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        // Another order for the OCN started in the meantime (a manual request): not a failure.
        if (error.code === 'CERTIFICATE.ORDER_IN_FLIGHT') return 'not_due';
        await this.reportRefusal(tx, certificateId, error);
        return 'refused';
      }
    }, { retries: 0, timeoutMs: 60_000 });
  }

  /** The scan's two branches for one certificate: which one it is due by, if still due. */
  private async stillDue(tx: Tx, certificateId: string): Promise<'active' | 'revoked' | undefined> {
    const now = this.clock.now();
    const retryCutoff = new Date(now.getTime() - RENEWAL_RETRY_AFTER_FAILURE_MS);
    const rows = await tx.$queryRaw<{ status: 'active' | 'revoked' }[]>`
      SELECT c.status::text AS status FROM certificates c
      WHERE c.id = ${certificateId}::uuid
        AND ((${activeAndDue(now)}) OR (${revokedUnreplaced()}))
        AND ${dueCondition(retryCutoff)}`;
    return rows[0]?.status;
  }

  /** Procurement would not start the renewal (provider suspended, STI-PA account removed...). */
  private async reportRefusal(tx: Tx, certificateId: string, error: DomainError): Promise<void> {
    const now = this.clock.now();
    await tx.certificateEvent.create({
      data: { certificateId, at: now, type: 'renewal.refused', details: { code: error.code, message: error.message } },
    });
    await this.events.emit(tx, {
      type: 'certificate.renewal_failed',
      subject: { type: 'certificate', id: certificateId },
      data: { stage: 'request', code: error.code, message: error.message, retryAfter: new Date(now.getTime() + RENEWAL_RETRY_AFTER_FAILURE_MS).toISOString() },
      actor: RENEWAL_SCHEDULER,
    });
    this.logger.warn({ msg: 'renewal refused by procurement', certificateId, code: error.code, reason: error.message });
  }

  /**
   * Renewal orders that procurement ended in `failed` and nobody was told about yet: each gets one
   * certificate.renewal_failed event (subject: the certificate being renewed, which is still
   * active, or the revoked one it was to replace) and a marker on the failed certificate's
   * timeline, in one transaction. The failed order's row lock makes concurrent reporters take
   * turns; the marker makes the second one stop.
   */
  async reportFailedRenewals(): Promise<number> {
    const candidates = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT r.id::text AS id FROM certificates r
      JOIN certificate_orders o ON o.certificate_id = r.id
      WHERE r.renewed_from_id IS NOT NULL AND o.state = 'failed'
        -- Cancelled on purpose (a replacement with a fresh key took its place): not a failure.
        AND o.last_error_code IS DISTINCT FROM ${ORDER_CANCELLED}
        AND NOT EXISTS (SELECT 1 FROM certificate_events e WHERE e.certificate_id = r.id AND e.type = 'renewal.failure_reported')
      LIMIT 500`;
    let reported = 0;
    for (const { id } of candidates) {
      const done = await this.prisma.transaction(async (tx) => {
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id::text FROM certificate_orders WHERE certificate_id = ${id}::uuid FOR UPDATE SKIP LOCKED`;
        if (locked.length === 0) return false;
        if ((await tx.certificateEvent.count({ where: { certificateId: id, type: 'renewal.failure_reported' } })) > 0) return false;
        const failed = await tx.certificate.findUniqueOrThrow({ where: { id }, include: { order: true, renewedFrom: { select: { id: true, status: true, notAfter: true } } } });
        const renewed = failed.renewedFrom!;
        const data = {
          stage: 'order',
          renewalId: id,
          code: failed.order?.lastErrorCode ?? null,
          message: failed.order?.lastError ?? null,
          renewedCertificateState: renewed.status,
          renewedCertificateNotAfter: renewed.notAfter?.toISOString() ?? null,
          retryAfter: new Date(this.clock.now().getTime() + RENEWAL_RETRY_AFTER_FAILURE_MS).toISOString(),
        };
        await tx.certificateEvent.create({ data: { certificateId: id, at: this.clock.now(), type: 'renewal.failure_reported', details: data } });
        await this.events.emit(tx, { type: 'certificate.renewal_failed', subject: { type: 'certificate', id: renewed.id }, data, actor: RENEWAL_SCHEDULER });
        return true;
      });
      if (done) reported += 1;
    }
    return reported;
  }
}

/**
 * The scan's query: due certificate ids, revoked unreplaced ones first (their OCN has no active
 * certificate now), then active ones oldest renewAt first. A UNION ALL of two branches, each with
 * its own ORDER BY and LIMIT, so the active branch keeps its index scan on
 * certificates(status, renew_at) instead of one OR that would read every certificate. Exported so
 * bench/renewal.ts can EXPLAIN exactly what the scan runs.
 */
export function dueCertificatesQuery(now: Date, limit: number): Prisma.Sql {
  const retryCutoff = new Date(now.getTime() - RENEWAL_RETRY_AFTER_FAILURE_MS);
  return Prisma.sql`
    SELECT due.id::text AS id FROM (
      (SELECT c.id, 0 AS branch, c.revoked_at AS since FROM certificates c
        WHERE ${revokedUnreplaced()} AND ${dueCondition(retryCutoff)}
        ORDER BY c.revoked_at, c.id
        LIMIT ${limit})
      UNION ALL
      (SELECT c.id, 1 AS branch, c.renew_at AS since FROM certificates c
        WHERE ${activeAndDue(now)} AND ${dueCondition(retryCutoff)}
        ORDER BY c.renew_at, c.id
        LIMIT ${limit})
    ) due
    ORDER BY due.branch, due.since, due.id
    LIMIT ${limit}`;
}

/** The certificate aliased `c` is the OCN's active one and its renewAt has passed. */
function activeAndDue(now: Date): Prisma.Sql {
  return Prisma.sql`c.status = 'active' AND c.renew_at <= ${now}`;
}

/**
 * The certificate aliased `c` was the OCN's active certificate when the STI-PA CRL listed it, and
 * nothing has taken its place: the replacement the CRL monitor started (sti-pa-crl-monitor.ts
 * markRevoked) failed or could not be started, and without this branch nothing would retry it,
 * leaving the OCN without a certificate for good (issue 5: no moment without an active
 * certificate; renewal goes on forever). Its certificate.revoked event says so (source
 * `sti_pa_crl`, was `active`).
 *
 * Only that source: a certificate an operator revoked without `replace` (revocation.service.ts,
 * source `acme`) left the OCN dark by their explicit choice, which a scan must not undo; nor does
 * the CRL later listing that serial turn it into this case (the CRL monitor only moves
 * certificates that are still active or superseded).
 *
 * It must also be the OCN's newest certificate that did not fail (any STI-CA: one active
 * certificate per OCN, certificates_one_active_per_ocn): a newer one, in flight, active, or
 * revoked in turn (by an operator, or by the CRL, when that one is the candidate), answers or
 * overrules the need. And the OCN must have no active certificate.
 */
function revokedUnreplaced(): Prisma.Sql {
  return Prisma.sql`
    c.status = 'revoked'
    AND EXISTS (
      SELECT 1 FROM certificate_events e
      WHERE e.certificate_id = c.id AND e.type = 'certificate.revoked'
        AND e.details->>'source' = 'sti_pa_crl' AND e.details->>'was' = 'active')
    AND NOT EXISTS (SELECT 1 FROM certificates a WHERE a.ocn_id = c.ocn_id AND a.status = 'active')
    AND NOT EXISTS (
      SELECT 1 FROM certificates n
      WHERE n.ocn_id = c.ocn_id AND n.created_at > c.created_at AND n.status <> 'failed')`;
}

/**
 * The part of "due" beyond status and renewAt, for the certificate aliased `c`: no order in
 * flight for its OCN and STI-CA (procurement allows one), and no renewal of it that failed or
 * was refused since `retryCutoff`.
 */
function dueCondition(retryCutoff: Date): Prisma.Sql {
  return Prisma.sql`
    NOT EXISTS (
      SELECT 1 FROM certificates r JOIN certificate_orders o ON o.certificate_id = r.id
      WHERE r.ocn_id = c.ocn_id AND r.sti_ca_id = c.sti_ca_id AND o.state NOT IN ('active', 'failed'))
    AND NOT EXISTS (
      SELECT 1 FROM certificates r JOIN certificate_events e ON e.certificate_id = r.id
      WHERE r.renewed_from_id = c.id AND e.type = 'order.failed' AND e.at > ${retryCutoff})
    AND NOT EXISTS (
      SELECT 1 FROM certificate_events e
      WHERE e.certificate_id = c.id AND e.type = 'renewal.refused' AND e.at > ${retryCutoff})`;
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}
