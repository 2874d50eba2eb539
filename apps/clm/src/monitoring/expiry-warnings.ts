import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { Clock } from '../common/clock.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';

const DAY_MS = 86_400_000;
/** Days before notAfter at which the OCN's active certificate is announced as expiring (issue 5). */
export const EXPIRY_WARNING_DAYS = [30, 14, 7, 1] as const;
/** First key of the advisory locks that make one replica warn about one certificate at a time ("EXPW"). */
const EXPIRY_WARNING_LOCK_CLASS = 0x45585057;

/**
 * Expiry warnings: once per threshold per certificate, the tightest threshold crossed (a service
 * that was down for a week sends the 7-day warning, not the 30- and 14-day ones as well). The
 * warning is a certificate.expiring event and a marker on the certificate's timeline, written
 * together; STIR-SHAKEN.md §9.4: in 2022 half of the live certificates were within 30 days of
 * expiry with nobody watching.
 */
@Injectable()
export class ExpiryWarnings {
  constructor(
    private readonly prisma: PrismaService,
    private readonly events: LifecycleEvents,
    private readonly clock: Clock,
  ) {}

  async run(): Promise<{ warned: number }> {
    const now = this.clock.now();
    const horizon = new Date(now.getTime() + EXPIRY_WARNING_DAYS[0] * DAY_MS);
    const expiring = await this.prisma.certificate.findMany({
      where: { status: 'active', notAfter: { gt: now, lte: horizon } },
      select: { id: true, notAfter: true },
      orderBy: { notAfter: 'asc' },
    });
    let warned = 0;
    for (const certificate of expiring) {
      const msLeft = certificate.notAfter!.getTime() - now.getTime();
      const threshold = [...EXPIRY_WARNING_DAYS].reverse().find((days) => msLeft <= days * DAY_MS);
      if (threshold !== undefined && (await this.warn(certificate.id, threshold))) warned += 1;
    }
    return { warned };
  }

  private warn(certificateId: string, thresholdDays: number): Promise<boolean> {
    return this.prisma.transaction(async (tx) => {
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${EXPIRY_WARNING_LOCK_CLASS}::int, hashtext(${certificateId})) AS locked`;
      if (!lock?.locked) return false;
      const sent = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM certificate_events
        WHERE certificate_id = ${certificateId}::uuid AND type = 'certificate.expiring'
          AND (details->>'thresholdDays')::int <= ${thresholdDays}`;
      if ((sent[0]?.n ?? 0) > 0) return false;
      const certificate = await tx.certificate.findUniqueOrThrow({ where: { id: certificateId }, include: { ocn: true } });
      if (certificate.status !== 'active' || !certificate.notAfter) return false;
      const now = this.clock.now();
      const renewal = await tx.certificate.findFirst({ where: { renewedFromId: certificateId }, orderBy: { createdAt: 'desc' }, include: { order: true } });
      const data = {
        ocn: certificate.ocn.code,
        serial: certificate.serial,
        notAfter: certificate.notAfter.toISOString(),
        thresholdDays,
        daysLeft: Math.floor((certificate.notAfter.getTime() - now.getTime()) / DAY_MS),
        renewAt: certificate.renewAt?.toISOString() ?? null,
        renewal: renewal ? { id: renewal.id, state: renewal.status, orderState: renewal.order?.state ?? null, lastErrorCode: renewal.order?.lastErrorCode ?? null } : null,
      };
      await tx.certificateEvent.create({ data: { certificateId, at: now, type: 'certificate.expiring', details: data } });
      await this.events.emit(tx, { type: 'certificate.expiring', subject: { type: 'certificate', id: certificateId }, data, actor: { type: 'system', component: 'expiry-warnings' } });
      return true;
    });
  }
}
