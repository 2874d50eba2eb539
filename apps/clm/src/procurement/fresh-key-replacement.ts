import { Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '@app/db';
import type { AuditActor } from '../audit/audit.service.js';
import { DomainError } from '../common/domain-error.js';
import { IN_FLIGHT_ORDER_STATES } from './order-states.js';
import { ProcurementService } from './procurement.service.js';

/** The replacement started for a certificate about to be revoked, or why none could be. */
// A type, not an interface: it is stored as is in JSON event details (Prisma's InputJsonObject).
export type ReplacementStart = {
  readonly certificateId: string | null;
  readonly error?: string;
};

/**
 * A renewal with a new key (kind renew, renewedFromId) for a certificate whose key can no longer
 * be trusted, started before it is revoked so the OCN is not left without a certificate: the
 * one already in flight for the OCN if it has a different key, else a new order (an in-flight
 * one reusing the key is cancelled). Used when the STI-PA CRL lists an active certificate and
 * when a keyCompromise revocation takes the active certificate of the same key with it. A
 * refusal is returned, not thrown: the revocation must happen either way.
 */
@Injectable()
export class FreshKeyReplacement {
  private readonly logger = new Logger('FreshKeyReplacement');

  constructor(
    private readonly prisma: PrismaService,
    private readonly procurement: ProcurementService,
  ) {}

  /** `why` completes "it reuses the key of certificate <id>, …" in a cancelled order's reason. */
  async start(certificateId: string, why: string, actor: AuditActor): Promise<ReplacementStart> {
    const replaced = await this.prisma.certificate.findUniqueOrThrow({ where: { id: certificateId }, select: { ocnId: true, stiCaId: true, keyId: true } });
    for (let attempt = 1; ; attempt++) {
      const inFlight = await this.prisma.certificate.findFirst({
        where: { ocnId: replaced.ocnId, stiCaId: replaced.stiCaId, order: { state: { in: [...IN_FLIGHT_ORDER_STATES] } } },
        select: { id: true, keyId: true },
      });
      if (inFlight && inFlight.keyId !== replaced.keyId) return { certificateId: inFlight.id };
      if (inFlight) await this.procurement.cancelOrder(inFlight.id, `it reuses the key of certificate ${certificateId}, ${why}`, actor);
      try {
        return { certificateId: (await this.procurement.requestRenewal(certificateId, actor, { freshKey: true })).certificateId };
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        if (attempt < 3 && error.code === 'CERTIFICATE.ORDER_IN_FLIGHT') continue;
        this.logger.error({ msg: 'no replacement could be started for an active certificate being revoked', certificateId, code: error.code, reason: error.message });
        return { certificateId: null, error: `${error.code}: ${error.message}` };
      }
    }
  }
}
