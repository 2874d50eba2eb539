import { Inject, Injectable } from '@nestjs/common';
import type { Tx } from '@app/db';
import { AuditService } from '../../audit/audit.service.js';
import { renewAt } from '../../certificates/renewal-policy.js';
import { Clock } from '../../common/clock.js';
import type { ClmConfig } from '../../config/config.js';
import { CLM_CONFIG } from '../../config/config.module.js';
import { refuseRetiredKey } from '../key-retirement.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import { LifecycleEvents } from '../../webhooks/lifecycle-events.service.js';
import type { OrderStep, StepOutcome } from './order-step.js';

/**
 * published → active, in one transaction with the transition: the OCN's current active
 * certificate (if any) becomes `superseded`, this one `active` with its renewal time. Signers
 * therefore always find exactly one active certificate (the partial unique index
 * certificates_one_active_per_ocn guarantees it) and never none while a renewal succeeds. The
 * superseded certificate stays published until its notAfter (issue 6), so a signer still holding
 * its key keeps signing calls that verify. `certificate.activated` goes to the audit log and to
 * subscribed webhooks (signers that prefer push to the long-poll) with this transaction.
 */
@Injectable()
export class ActivateCertificateStep implements OrderStep {
  readonly name = 'activateCertificate' as const;

  constructor(
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly events: LifecycleEvents,
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
  ) {}

  async run(context: OrderContext): Promise<StepOutcome> {
    const { certificate, ocn } = context;
    if (!certificate.notBefore || !certificate.notAfter || !certificate.x5u) {
      throw new ProcurementError('CERTIFICATE_ORDER.INCONSISTENT', `certificate ${certificate.id} reached activation without validity or x5u`, true);
    }
    const { notBefore, notAfter, x5u } = certificate;
    const now = this.clock.now();
    return {
      certificate: { activatedAt: now },
      alsoInTransaction: async (tx: Tx) => {
        // Serializes activations for one OCN: two orders finishing at once cannot both see
        // "no other active certificate" and then collide on the unique index.
        await tx.$queryRaw`SELECT id FROM ocns WHERE id = ${ocn.id}::uuid FOR UPDATE`;
        // In the transaction that would hand the key to signers: a key condemned (keyCompromise)
        // since finalize fails the order here instead (the throw rolls the activation back).
        await refuseRetiredKey(tx, certificate, 'activate');
        // renewAt from the policy as it is now, not as the order read it earlier: the locks make a
        // concurrent policy PATCH either commit first (read here) or wait and see this one active
        // (and reschedule it), so its change is never lost.
        const [policy] = await tx.$queryRaw<{ certificate_days: number | null; sti_ca_days: number | null }[]>`
          SELECT c.renew_before_days AS certificate_days, s.renew_before_days AS sti_ca_days
          FROM certificates c JOIN sti_cas s ON s.id = c.sti_ca_id
          WHERE c.id = ${certificate.id}::uuid FOR UPDATE OF c FOR SHARE OF s`;
        const due = renewAt({
          notBefore,
          notAfter,
          certificateRenewBeforeDays: policy?.certificate_days ?? null,
          stiCaRenewBeforeDays: policy?.sti_ca_days ?? null,
          minRenewBeforeMs: this.config.procurement.backoffCapMs,
        });
        await tx.certificate.update({ where: { id: certificate.id }, data: { renewAt: due } });
        const previous = await tx.certificate.findFirst({ where: { ocnId: ocn.id, status: 'active', id: { not: certificate.id } } });
        if (previous) {
          await tx.certificate.update({ where: { id: previous.id }, data: { status: 'superseded', supersededAt: now } });
          await tx.certificateEvent.create({ data: { certificateId: previous.id, at: now, type: 'certificate.superseded', details: { by: certificate.id } } });
          await this.audit.record({ type: 'system', component: 'procurement' }, {
            action: 'certificate.superseded', subjectType: 'certificate', subjectId: previous.id, details: { by: certificate.id, ocn: ocn.code },
          }, tx);
        }
        // The audit row and the webhook deliveries in this transaction (issue 7: signers that
        // prefer push learn of the new pair here; the superseded one stays usable until its notAfter).
        await this.events.emit(tx, {
          type: 'certificate.activated',
          subject: { type: 'certificate', id: certificate.id },
          actor: { type: 'system', component: 'procurement' },
          data: {
            ocn: ocn.code,
            serial: certificate.serial,
            x5u,
            notBefore: notBefore.toISOString(),
            notAfter: notAfter.toISOString(),
            renewAt: due.toISOString(),
            supersedes: previous?.id ?? null,
            supersededX5u: previous?.x5u ?? null,
            supersededNotAfter: previous?.notAfter?.toISOString() ?? null,
          },
        });
        return { supersedes: previous?.id ?? null, renewAt: due.toISOString() };
      },
      details: { x5u: certificate.x5u },
    };
  }
}
