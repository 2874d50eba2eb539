import { Body, Controller, HttpCode, Param, ParseUUIDPipe, Patch, Post, Res } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import type { CertificateView } from '../certificates/certificate-views.js';
import { CertificatesService } from '../certificates/certificates.service.js';
import { JobRunner } from '../jobs/job-runner.service.js';
import { RenewalPolicyService, type StiCaRenewalPolicyView } from './renewal-policy.service.js';
import type { SiblingReplacement } from './key-retirement.service.js';
import { RENEWAL_SCAN_JOB } from './renewal.jobs.js';
import { RenewalPolicyDto, RenewCertificateDto, RevokeCertificateDto } from './renewal.dto.js';
import { RenewalScheduler, type RenewalScanSummary } from './renewal-scheduler.service.js';
import { RevocationService } from './revocation.service.js';

export interface RevocationView {
  state: 'revoked' | 'revocation_pending';
  certificate: CertificateView;
  /** The certificate ordered to replace it (`replace: true`), which must be active before the revocation. */
  replacement: CertificateView | null;
  /**
   * With `replace`: hours between the replacement becoming active and this certificate's
   * revocation (0 for keyCompromise and privilegeWithdrawn; CLM_REVOCATION_GRACE_HOURS otherwise,
   * so calls signed just before the swap still verify). Null without `replace`.
   */
  graceHours: number | null;
  /** Set when the revocation left the OCN without an active certificate (revoked without `replace`). */
  notice: string | null;
}

@AdminApi('certificates')
@Controller('api/v1/certificates')
export class RenewalController {
  constructor(
    private readonly renewals: RenewalScheduler,
    private readonly revocations: RevocationService,
    private readonly policies: RenewalPolicyService,
    private readonly certificates: CertificatesService,
  ) {}

  @Post(':id/renew')
  @HttpCode(202)
  @ApiOperation({ summary: 'renew now: a new order (new key unless key rotation is never); the certificate stays active until the new one is' })
  async renew(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: RenewCertificateDto, @Actor() actor: AdminActor): Promise<CertificateView> {
    const started = await this.renewals.renewNow(id, { type: 'admin', admin: actor }, body.validityDays !== undefined ? { validityDays: body.validityDays } : {});
    return this.certificates.get(started.certificateId);
  }

  @Post(':id/revoke')
  @ApiOperation({ summary: 'revoke at the STI-CA (200), or with replace: order a replacement and revoke once it is active, after CLM_REVOCATION_GRACE_HOURS unless keyCompromise or privilegeWithdrawn (202)' })
  async revoke(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: RevokeCertificateDto,
    @Actor() actor: AdminActor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RevocationView> {
    const result = await this.revocations.revoke(id, { reason: body.reason, replace: body.replace ?? false }, { type: 'admin', admin: actor });
    void reply.status(result.state === 'revoked' ? 200 : 202);
    const certificate = await this.certificates.get(id);
    // Revoking the active certificate without replace is the operator's choice; say what it means.
    const dark = result.state === 'revoked' && result.wasActive;
    const sibling = result.state === 'revoked' ? result.siblingReplacement : null;
    const replacementId = result.state === 'revocation_pending' ? result.replacementId : sibling?.certificateId;
    return {
      state: result.state,
      certificate,
      replacement: replacementId ? await this.certificates.get(replacementId) : null,
      graceHours: result.state === 'revocation_pending' ? result.graceHours : null,
      notice: dark
        ? `OCN ${certificate.ocn} has no active certificate now: signers get none until a new one is requested (POST /api/v1/certificates)`
        : sibling ? siblingNotice(certificate.ocn, sibling) : null,
    };
  }

  @Patch(':id/renewal-policy')
  @ApiOperation({ summary: 'per-certificate renewal policy (renewBeforeDays, keyRotation, validityDays; null inherits the STI-CA)' })
  async setPolicy(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: RenewalPolicyDto, @Actor() actor: AdminActor): Promise<CertificateView> {
    await this.policies.setForCertificate(id, body, { type: 'admin', admin: actor });
    return this.certificates.get(id);
  }
}

@AdminApi('sti-cas')
@Controller('api/v1/sti-cas')
export class StiCaRenewalPolicyController {
  constructor(private readonly policies: RenewalPolicyService) {}

  @Patch(':id/renewal-policy')
  @ApiOperation({ summary: 'the STI-CA\'s renewal policy, inherited by its certificates that set none' })
  setPolicy(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: RenewalPolicyDto, @Actor() actor: AdminActor): Promise<StiCaRenewalPolicyView> {
    return this.policies.setForStiCa(id, body, { type: 'admin', admin: actor });
  }
}

@AdminApi('renewals')
@Controller('api/v1/renewals')
export class RenewalScanController {
  constructor(
    private readonly jobs: JobRunner,
    private readonly renewals: RenewalScheduler,
  ) {}

  /** Runs the renewal scan on this replica now (the scheduler leader runs it every 10 minutes). */
  @Post('scan')
  @HttpCode(200)
  @ApiOperation({ summary: 'scan for due certificates now and start their renewals; safe on every replica at once' })
  async scan(): Promise<RenewalScanSummary | { skipped: 'a scan is already running in this process' }> {
    const summary = await this.jobs.run(RENEWAL_SCAN_JOB, async () => ({ ...(await this.renewals.scan()) }));
    return summary ?? { skipped: 'a scan is already running in this process' };
  }
}

/** keyCompromise of a superseded certificate took the OCN's active one (same key) with it: say so, and what replaces it. */
function siblingNotice(ocn: string, sibling: SiblingReplacement): string {
  const revoked = `the active certificate ${sibling.revokedActiveId} of OCN ${ocn} had the same key and was revoked too (keyCompromise)`;
  return sibling.certificateId
    ? `${revoked}; certificate ${sibling.certificateId}, with a new key, is being ordered to replace it (the OCN has no active certificate until it is active)`
    : `${revoked}; no replacement could be started (${sibling.error ?? 'unknown error'}): OCN ${ocn} has no active certificate now, request one (POST /api/v1/certificates)`;
}
