import { Inject, Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '@app/db';
import type { AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError, conflict, notFound } from '../common/domain-error.js';
import type { ClmConfig } from '../config/config.js';
import { CLM_CONFIG } from '../config/config.module.js';
import { IN_FLIGHT_ORDER_STATES } from '../procurement/order-states.js';
import { ProcurementService } from '../procurement/procurement.service.js';
import { CertificateRevoker, REVOCABLE, type RevocableCertificate } from './certificate-revoker.js';
import { KeyRetirement, type SiblingReplacement } from './key-retirement.service.js';
import { RenewalErrorCode } from './renewal-errors.js';
import { RenewalScheduler } from './renewal-scheduler.service.js';
import type { SubscriberRevocationReason } from './revocation-reasons.js';

const REVOCATION: AuditActor = { type: 'system', component: 'revocation' };

export interface RevocationRequest {
  readonly reason: SubscriberRevocationReason;
  /** Order a replacement first and revoke only once it is active (the OCN is never without one). */
  readonly replace?: boolean;
}

export type RevocationResult =
  | {
      readonly state: 'revoked';
      readonly certificateId: string;
      readonly wasActive: boolean;
      /** keyCompromise of a superseded certificate: the active one with the same key was revoked too, after this replacement was started. */
      readonly siblingReplacement: SiblingReplacement | null;
    }
  | {
      readonly state: 'revocation_pending';
      readonly certificateId: string;
      readonly replacementId: string;
      /** Hours after the replacement is active (and this one superseded) before it is revoked. */
      readonly graceHours: number;
    };

/**
 * Reasons that revoke a replaced certificate as soon as its replacement is active: its key may
 * be in other hands, or the provider may no longer sign with it. For any other reason the
 * superseded certificate stays valid for the grace window (config revocationGraceMs), because
 * PASSporTs signed with it just before the swap are still in flight and verifiers cache its x5u
 * (STIR-SHAKEN.md §6: revoke a superseded certificate only after that window).
 */
const IMMEDIATE_REASONS: readonly SubscriberRevocationReason[] = ['keyCompromise', 'privilegeWithdrawn'];

/**
 * Revocation (issue 5): ACME revokeCert (RFC 8555 §7.6) with an RFC 5280 reason, then the
 * certificate's `revoked` state, timeline entry, audit row and certificate.revoked event in one
 * transaction. With `replace`, a renewal is started first and the revocation waits until the
 * replacement is active (which supersedes this one), so signers always have a certificate.
 */
@Injectable()
export class RevocationService {
  private readonly logger = new Logger('Revocation');

  constructor(
    private readonly prisma: PrismaService,
    private readonly revoker: CertificateRevoker,
    private readonly keys: KeyRetirement,
    private readonly renewals: RenewalScheduler,
    private readonly procurement: ProcurementService,
    private readonly clock: Clock,
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
  ) {}

  async revoke(certificateId: string, request: RevocationRequest, actor: AuditActor): Promise<RevocationResult> {
    const certificate = await this.load(certificateId);
    if (!certificate) throw notFound('CERTIFICATE.NOT_FOUND', `no certificate ${certificateId}`);
    if (!(REVOCABLE as readonly string[]).includes(certificate.status) || !certificate.chainPem) {
      throw conflict(RenewalErrorCode.NOT_REVOCABLE, `certificate ${certificateId} is ${certificate.status}; only active or superseded certificates are revoked`);
    }
    if (request.replace) {
      if (certificate.status !== 'active') {
        throw conflict(RenewalErrorCode.REPLACE_NEEDS_ACTIVE, `certificate ${certificateId} is ${certificate.status}: only the active certificate is replaced before revocation`);
      }
      return this.replaceThenRevoke(certificate, request.reason, actor);
    }
    // Journal first: a crash after the CA revoked but before markRevoked commits would otherwise
    // leave a certificate the CA (and soon the STI-PA CRL) calls revoked in our `active` state,
    // still handed to signers. completePendingRevocations finishes what was journaled.
    await this.revoker.journalRequest(certificate, { reason: request.reason, replace: false }, actor);
    await this.revoker.revokeAtCa(certificate, request.reason);
    await this.revoker.markRevoked(certificate, request.reason, actor, 'acme');
    const siblingReplacement = request.reason === 'keyCompromise' ? await this.keys.retireKey(certificate, actor) : null;
    return { state: 'revoked', certificateId, wasActive: certificate.status === 'active', siblingReplacement };
  }

  /**
   * Finishes journaled revocations: those asked for without replacement whose CA call or final
   * commit did not happen (a crash, a CA error), and those whose replacement has become active
   * since a `replace` request (they are `superseded` now). A replacement that failed leaves the
   * request pending, and the old certificate active; certificate.renewal_failed says so. The
   * CA's alreadyRevoked counts as done (revokeAtCa).
   */
  async completePendingRevocations(): Promise<{ revoked: number; failed: number }> {
    // The latest request per certificate decides; requests from before `replace` was journaled
    // (no such member) were all replace requests.
    const pending = await this.prisma.$queryRaw<{ id: string; reason: SubscriberRevocationReason; replace: boolean; grace_hours: number | null }[]>`
      SELECT DISTINCT ON (c.id) c.id::text AS id, e.details->>'reason' AS reason,
        COALESCE((e.details->>'replace')::boolean, true) AS replace, (e.details->>'graceHours')::float8 AS grace_hours
      FROM certificates c JOIN certificate_events e ON e.certificate_id = c.id AND e.type = 'revocation.requested'
      WHERE c.status IN ('active', 'superseded')
      ORDER BY c.id, e.at DESC, e.seq DESC`;
    let revoked = 0;
    let failed = 0;
    for (const { id, reason, replace, grace_hours: graceHours } of pending) {
      const certificate = await this.load(id);
      if (!certificate || !(REVOCABLE as readonly string[]).includes(certificate.status)) continue;
      // With replace, the active certificate waits for its replacement, then for the grace window.
      if (replace && certificate.status !== 'superseded') continue;
      if (replace && !this.graceOver(certificate.supersededAt, reason, graceHours)) continue;
      try {
        await this.revoker.revokeAtCa(certificate, reason);
        if (await this.revoker.markRevoked(certificate, reason, REVOCATION, replace ? 'acme_after_replacement' : 'acme')) revoked += 1;
        if (reason === 'keyCompromise') await this.keys.retireKey(certificate, REVOCATION);
      } catch (error) {
        failed += 1;
        this.logger.warn({ msg: 'pending revocation failed; retried at the next run', certificateId: id, code: (error as { code?: string }).code, reason: (error as Error).message });
      }
    }
    failed += await this.retireCompromisedKeys();
    return { revoked, failed };
  }

  /**
   * Keys revoked for keyCompromise but not yet retired: retireKey runs after markRevoked commits,
   * so a crash (or a CA error revoking a sibling) in between leaves the revoked certificate's
   * siblings valid, orders reusing the key in flight and the key sealed. The revocation itself is
   * no longer pending then, so it is found here by its outcome instead: a certificate revoked for
   * keyCompromise whose key is not destroyed. retireKey is idempotent. Returns the failures.
   */
  private async retireCompromisedKeys(): Promise<number> {
    const unretired = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT ON (c.key_id) c.id::text AS id
      FROM certificates c JOIN private_keys k ON k.id = c.key_id
      WHERE c.status = 'revoked' AND c.revocation_reason = 'keyCompromise' AND k.destroyed_at IS NULL
        -- A keyCompromise revoke-with-replace still waiting for its replacement keeps the key's
        -- active certificate signing until then; the loop above retires the key when it completes.
        AND NOT EXISTS (
          SELECT 1 FROM certificates p JOIN certificate_events e ON e.certificate_id = p.id AND e.type = 'revocation.requested'
          WHERE p.key_id = c.key_id AND p.status IN ('active', 'superseded') AND COALESCE((e.details->>'replace')::boolean, true))
      ORDER BY c.key_id, c.revoked_at`;
    let failed = 0;
    for (const { id } of unretired) {
      const certificate = await this.load(id);
      if (!certificate) continue;
      try {
        await this.keys.retireKey(certificate, REVOCATION);
      } catch (error) {
        failed += 1;
        this.logger.warn({ msg: 'retiring a compromised key failed; retried at the next run', certificateId: id, keyId: certificate.keyId, code: (error as { code?: string }).code, reason: (error as Error).message });
      }
    }
    return failed;
  }

  private async replaceThenRevoke(certificate: RevocableCertificate, reason: SubscriberRevocationReason, actor: AuditActor): Promise<RevocationResult> {
    const compromised = reason === 'keyCompromise';
    if (compromised) {
      // Journaled before anything is ordered: from this commit on no renewal of any certificate
      // with this key, the scheduler's included, reuses it (procurement's keyRetired).
      await this.revoker.journalRequest(certificate, { reason, replace: true }, actor);
      // Older certificates of the key sign nothing of ours but still verify: revoked now.
      await this.keys.revokeSameKey(certificate, ['superseded'], actor);
    }
    const replacementId = await this.orderReplacement(certificate, compromised, actor);
    const graceHours = this.graceHours(reason);
    if (compromised) {
      await this.prisma.certificateEvent.create({ data: { certificateId: certificate.id, at: this.clock.now(), type: 'revocation.replacement_ordered', details: { replacementId, graceHours } } });
    } else {
      await this.revoker.journalRequest(certificate, { reason, replace: true, replacementId, graceHours }, actor);
    }
    return { state: 'revocation_pending', certificateId: certificate.id, replacementId, graceHours };
  }

  private graceHours(reason: SubscriberRevocationReason): number {
    return IMMEDIATE_REASONS.includes(reason) ? 0 : this.config.revocationGraceMs / 3_600_000;
  }

  /** The grace journaled with the request wins: a later config change does not move a promise made. */
  private graceOver(supersededAt: Date | null, reason: SubscriberRevocationReason, journaledHours: number | null): boolean {
    const hours = journaledHours ?? this.graceHours(reason);
    return supersededAt === null || supersededAt.getTime() + hours * 3_600_000 <= this.clock.now().getTime();
  }

  /**
   * A renewal already under way (the scheduler's, or a manual one) is the replacement, except
   * one that reuses a compromised key (key rotation `never`): that one is cancelled and a new
   * order, with a new key, takes its place.
   */
  private async orderReplacement(certificate: RevocableCertificate, compromised: boolean, actor: AuditActor): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const inFlight = await this.prisma.certificate.findFirst({
        where: { ocnId: certificate.ocnId, stiCaId: certificate.stiCaId, order: { state: { in: [...IN_FLIGHT_ORDER_STATES] } } },
        select: { id: true, keyId: true },
      });
      if (inFlight && !(compromised && inFlight.keyId === certificate.keyId)) return inFlight.id;
      if (inFlight) {
        await this.procurement.cancelOrder(inFlight.id, `it reuses key ${certificate.keyId}, compromised (keyCompromise revocation of certificate ${certificate.id}); a new order with a new key replaces it`, actor);
      }
      try {
        return (await this.renewals.renewNow(certificate.id, actor)).certificateId;
      } catch (error) {
        // Another order started in between (it cannot reuse the key: the journal is committed).
        if (attempt < 3 && error instanceof DomainError && error.code === 'CERTIFICATE.ORDER_IN_FLIGHT') continue;
        throw error;
      }
    }
  }

  private load(id: string) {
    return this.revoker.load(id);
  }
}
