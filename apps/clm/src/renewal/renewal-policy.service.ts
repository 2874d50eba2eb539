import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type KeyRotation, type Tx } from '@app/db';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { renewAt, renewBeforeBand } from '../certificates/renewal-policy.js';
import { Clock } from '../common/clock.js';
import { invalid, notFound } from '../common/domain-error.js';
import type { ClmConfig } from '../config/config.js';
import { CLM_CONFIG } from '../config/config.module.js';
import type { RenewalPolicyDto } from './renewal.dto.js';

export interface StiCaRenewalPolicyView {
  stiCaId: string;
  renewBeforeDays: number | null;
  keyRotation: string;
  validityDays: number | null;
  /** Active certificates of this STI-CA whose renewAt was recomputed (those without their own renewBeforeDays). */
  certificatesRescheduled: number;
}

type PolicyPatch = { renewBeforeDays?: number | null; keyRotation?: KeyRotation | null; validityDays?: number | null };

/**
 * Renewal policy per certificate or per STI-CA (issue 5). A change to renewBeforeDays moves the
 * renewAt of the active certificates it governs at once, so the next scan follows the new policy.
 */
@Injectable()
export class RenewalPolicyService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
  ) {}

  async setForCertificate(certificateId: string, input: RenewalPolicyDto, actor: AuditActor): Promise<void> {
    const patch = definedFields(input);
    await this.prisma.transaction(async (tx) => {
      const certificate = await tx.certificate.findUnique({ where: { id: certificateId }, include: { stiCa: true } });
      if (!certificate) throw notFound('CERTIFICATE.NOT_FOUND', `no certificate ${certificateId}`);
      const lifetimeMs = certificate.notBefore && certificate.notAfter
        ? certificate.notAfter.getTime() - certificate.notBefore.getTime()
        : daysMs(patch.validityDays !== undefined ? patch.validityDays : certificate.validityDays ?? certificate.stiCa.validityDays);
      this.checkRenewBefore(patch.renewBeforeDays, lifetimeMs, certificate.notBefore ? 'the certificate' : 'the requested validity');
      const updated = await tx.certificate.update({ where: { id: certificateId }, data: patch });
      if (updated.status === 'active') await this.reschedule(tx, [updated.id], certificate.stiCa.renewBeforeDays);
      await this.audit.record(actor, { action: 'certificate.renewal_policy_set', subjectType: 'certificate', subjectId: certificateId, details: patch }, tx);
    });
  }

  async setForStiCa(stiCaId: string, input: RenewalPolicyDto, actor: AuditActor): Promise<StiCaRenewalPolicyView> {
    const patch = definedFields(input);
    return this.prisma.transaction(async (tx) => {
      const current = await tx.stiCa.findUnique({ where: { id: stiCaId }, select: { validityDays: true } });
      if (!current) throw notFound('STI_CA.NOT_FOUND', `no STI-CA ${stiCaId}`);
      this.checkRenewBefore(patch.renewBeforeDays, daysMs(patch.validityDays !== undefined ? patch.validityDays : current.validityDays), 'the STI-CA\'s validity');
      // The STI-CA's key rotation has no "inherit": null means the default, `always`.
      const { keyRotation, ...rest } = patch;
      const stiCa = await tx.stiCa.update({
        where: { id: stiCaId },
        data: { ...rest, ...(keyRotation !== undefined ? { keyRotation: keyRotation ?? 'always' } : {}) },
      });
      const governed = await tx.certificate.findMany({ where: { stiCaId, status: 'active', renewBeforeDays: null }, select: { id: true } });
      const rescheduled = await this.reschedule(tx, governed.map((c) => c.id), stiCa.renewBeforeDays);
      await this.audit.record(actor, { action: 'sti_ca.renewal_policy_set', subjectType: 'sti_ca', subjectId: stiCaId, details: { ...patch, certificatesRescheduled: rescheduled } }, tx);
      return { stiCaId, renewBeforeDays: stiCa.renewBeforeDays, keyRotation: stiCa.keyRotation, validityDays: stiCa.validityDays, certificatesRescheduled: rescheduled };
    });
  }

  private checkRenewBefore(renewBeforeDays: number | null | undefined, lifetimeMs: number | null, of: string): void {
    checkRenewBeforeBand(renewBeforeDays, lifetimeMs, of, this.config.procurement.backoffCapMs);
  }

  private async reschedule(tx: Tx, certificateIds: readonly string[], stiCaRenewBeforeDays: number | null): Promise<number> {
    let count = 0;
    for (const id of certificateIds) {
      const certificate = await tx.certificate.findUniqueOrThrow({ where: { id } });
      if (!certificate.notBefore || !certificate.notAfter) continue;
      const due = renewAt({ notBefore: certificate.notBefore, notAfter: certificate.notAfter, certificateRenewBeforeDays: certificate.renewBeforeDays, stiCaRenewBeforeDays, minRenewBeforeMs: this.config.procurement.backoffCapMs });
      await tx.certificate.update({ where: { id }, data: { renewAt: due } });
      await tx.certificateEvent.create({ data: { certificateId: id, at: this.clock.now(), type: 'renewal.rescheduled', details: { renewAt: due.toISOString() } } });
      count += 1;
    }
    return count;
  }
}

const DAY_MS = 86_400_000;
const daysMs = (days: number | null | undefined) => (days === null || days === undefined ? null : days * DAY_MS);

/**
 * Refuses a renewBeforeDays outside renewBeforeBand where the lifetime is known (the
 * certificate's, else the validity asked for): activation would clamp it anyway, and the
 * operator should learn now that the value does not do what it says. With the lifetime unknown
 * (the CA chooses it) the value is kept and clamped at activation.
 */
function checkRenewBeforeBand(this: void, renewBeforeDays: number | null | undefined, lifetimeMs: number | null, of: string, minRenewBeforeMs: number): void {
  if (renewBeforeDays === null || renewBeforeDays === undefined || lifetimeMs === null) return;
  const band = renewBeforeBand(lifetimeMs, minRenewBeforeMs);
  const [min, max] = [Math.ceil(band.min / DAY_MS), Math.floor(band.max / DAY_MS)];
  if (renewBeforeDays < min || renewBeforeDays > max) {
    throw invalid('RENEWAL_POLICY.RENEW_BEFORE_OUT_OF_RANGE',
      `renewBeforeDays must be from ${min} to ${max} for ${of} (${Math.round(lifetimeMs / DAY_MS)} days): more than half the lifetime makes each new certificate due almost at once (a re-issue loop), less than ${min} leaves no time to renew before notAfter`,
      { field: 'renewBeforeDays', min, max });
  }
}

function definedFields(input: RenewalPolicyDto): PolicyPatch {
  const patch: PolicyPatch = {};
  if (input.renewBeforeDays !== undefined) patch.renewBeforeDays = input.renewBeforeDays;
  if (input.keyRotation !== undefined) patch.keyRotation = input.keyRotation;
  if (input.validityDays !== undefined) patch.validityDays = input.validityDays;
  return patch;
}
