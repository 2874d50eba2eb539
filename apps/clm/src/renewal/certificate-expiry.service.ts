import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { Clock } from '../common/clock.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';

const BATCH = 500;

interface Lapsed {
  id: string;
  was: string;
  ocn: string;
  serial: string | null;
  not_after: Date;
}

/**
 * `superseded` → `expired` (and `active` → `expired` when no renewal made it in time) once notAfter
 * has passed (issue 5). A superseded certificate keeps its STI-CR URL until then: verifiers may
 * still hold PASSporTs signed with it (STIR-SHAKEN.md §6); the publication's own removal date is
 * the publishing feature's.
 */
@Injectable()
export class CertificateExpiry {
  constructor(
    private readonly prisma: PrismaService,
    private readonly events: LifecycleEvents,
    private readonly clock: Clock,
  ) {}

  async expireLapsed(): Promise<{ expired: number; wereActive: number }> {
    let expired = 0;
    let wereActive = 0;
    for (;;) {
      const now = this.clock.now();
      const batch = await this.prisma.transaction(async (tx) => {
        // SKIP LOCKED: rows another replica is expiring, or an activation is superseding, wait for the next run.
        const rows = await tx.$queryRaw<Lapsed[]>`
          WITH lapsed AS (
            SELECT c.id, c.status::text AS was FROM certificates c
            WHERE c.status IN ('active', 'superseded') AND c.not_after <= ${now}
            ORDER BY c.not_after
            LIMIT ${BATCH}
            FOR UPDATE SKIP LOCKED
          )
          UPDATE certificates c SET status = 'expired', updated_at = now()
          FROM lapsed, ocns o
          WHERE c.id = lapsed.id AND o.id = c.ocn_id
          RETURNING c.id::text AS id, lapsed.was, o.code AS ocn, c.serial, c.not_after`;
        if (rows.length === 0) return rows;
        await tx.certificateEvent.createMany({
          data: rows.map((row) => ({ certificateId: row.id, at: now, type: 'certificate.expired', details: { from: row.was, notAfter: row.not_after.toISOString() } })),
        });
        for (const row of rows) {
          await this.events.emit(tx, {
            type: 'certificate.expired',
            subject: { type: 'certificate', id: row.id },
            data: { ocn: row.ocn, serial: row.serial, notAfter: row.not_after.toISOString(), wasActive: row.was === 'active' },
          });
        }
        return rows;
      });
      expired += batch.length;
      wereActive += batch.filter((row) => row.was === 'active').length;
      if (batch.length < BATCH) return { expired, wereActive };
    }
  }
}
