import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { FreshKeyReplacement, type ReplacementStart } from '../procurement/fresh-key-replacement.js';
import { IN_FLIGHT_ORDER_STATES } from '../procurement/order-states.js';
import { ProcurementService } from '../procurement/procurement.service.js';
import { CertificateRevoker, REVOCABLE, type RevocableCertificate, type RevocableStatus } from './certificate-revoker.js';

/** The OCN's active certificate had the compromised key too: revoked with it, after a replacement was started. */
export type SiblingReplacement = ReplacementStart & { readonly revokedActiveId: string };

/**
 * After a keyCompromise revocation (RFC 5280 §5.3.1: the key must be presumed in other hands),
 * whether asked of us (RevocationService) or found on the STI-PA CRL (StiPaCrlMonitor): every
 * other certificate with the key is revoked too (superseded ones still verify until notAfter),
 * any order still in flight with it is cancelled, and the key is destroyed — its sealed material
 * erased and destroyedAt set — so neither a renewal nor the signer hand-off ever uses it again.
 * Idempotent: RevocationService.completePendingRevocations runs it again if it was interrupted.
 */
@Injectable()
export class KeyRetirement {
  constructor(
    private readonly prisma: PrismaService,
    private readonly revoker: CertificateRevoker,
    private readonly procurement: ProcurementService,
    private readonly replacements: FreshKeyReplacement,
    private readonly auditLog: AuditService,
    private readonly clock: Clock,
  ) {}

  /** retireKey for the certificate with this id (revoked for keyCompromise), if it still exists. */
  async retireKeyOf(certificateId: string, actor: AuditActor): Promise<SiblingReplacement | null> {
    const certificate = await this.revoker.load(certificateId);
    return certificate ? this.retireKey(certificate, actor) : null;
  }

  /**
   * Returns the replacement started for the OCN's active certificate when it shares the key
   * (the compromised certificate was a superseded one, key rotation `never`): that certificate
   * is revoked too, so a renewal with a new key is started first (FreshKeyReplacement), as for
   * an active certificate the STI-PA CRL lists, and the caller reports it.
   */
  async retireKey(certificate: RevocableCertificate, actor: AuditActor): Promise<SiblingReplacement | null> {
    const active = await this.prisma.certificate.findFirst({
      where: { keyId: certificate.keyId, id: { not: certificate.id }, status: 'active', chainPem: { not: null } },
      select: { id: true },
    });
    const replacement = active
      ? { revokedActiveId: active.id, ...(await this.replacements.start(active.id, `compromised (keyCompromise revocation of certificate ${certificate.id})`, actor)) }
      : null;
    await this.revokeSameKey(certificate, [...REVOCABLE], actor);
    const inFlight = await this.prisma.certificate.findMany({ where: { keyId: certificate.keyId, order: { state: { in: [...IN_FLIGHT_ORDER_STATES] } } }, select: { id: true } });
    for (const { id } of inFlight) {
      await this.procurement.cancelOrder(id, `its key ${certificate.keyId} is compromised (keyCompromise revocation of certificate ${certificate.id})`, actor);
    }
    const now = this.clock.now();
    await this.prisma.transaction(async (tx) => {
      const { count } = await tx.privateKey.updateMany({ where: { id: certificate.keyId, destroyedAt: null }, data: { destroyedAt: now, sealed: null, kekId: null } });
      if (count === 0) return;
      await tx.certificateEvent.create({ data: { certificateId: certificate.id, at: now, type: 'key.destroyed', details: { keyId: certificate.keyId, reason: 'keyCompromise' } } });
      await this.auditLog.record(actor, { action: 'key.destroyed', subjectType: 'private_key', subjectId: certificate.keyId, details: { reason: 'keyCompromise', certificateId: certificate.id } }, tx);
    });
    return replacement;
  }

  /** Revokes (journal, CA, state) the other certificates holding `certificate`'s key in `statuses`. */
  async revokeSameKey(certificate: RevocableCertificate, statuses: RevocableStatus[], actor: AuditActor): Promise<void> {
    const siblings = await this.prisma.certificate.findMany({
      where: { keyId: certificate.keyId, id: { not: certificate.id }, status: { in: statuses }, chainPem: { not: null } },
      include: { ocn: true, stiCa: true, key: true },
    });
    for (const sibling of siblings) {
      await this.revoker.journalRequest(sibling, { reason: 'keyCompromise', replace: false, sameKeyAs: certificate.id }, actor);
      await this.revoker.revokeAtCa(sibling, 'keyCompromise');
      await this.revoker.markRevoked(sibling, 'keyCompromise', actor, 'acme_same_key');
    }
  }
}
