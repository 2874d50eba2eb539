import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { Clock } from '../../common/clock.js';
import { notFound } from '../../common/domain-error.js';
import { SpcTokenProbe } from '../../monitoring/spc-token-probe.js';
import { checkSpcToken, checkStiCaAccount, type OcnRef, type OcnTokenRefusal } from './account-checks.js';
import { checkActiveCertificate, checkPublishedUrl, findActiveCertificate } from './certificate-checks.js';
import { checkFiler499, checkFrn, checkOcns, checkRmd, checkSigning } from './provider-checks.js';
import { allOk, type ProviderItemName, type ReadinessItem } from './readiness-item.js';
import type { OcnReadinessView, ProviderReadinessView } from './readiness.views.js';
import { checkSigner } from './signer-check.js';
import { StiPaLoginCheck } from './sti-pa-login-check.js';

/**
 * The onboarding checklist of issue 5: what a provider still lacks before it can sign calls,
 * per OCN. Provider-wide items (identifiers, the STI-PA login) are checked once and repeated in
 * each OCN's list so that every list is complete on its own. The STI-PA login and token checks
 * are bounded in time (sti-pa-login-check.ts, account-checks.ts).
 */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly login: StiPaLoginCheck,
    private readonly tokens: SpcTokenProbe,
    private readonly clock: Clock,
  ) {}

  async check(providerId: string): Promise<ProviderReadinessView> {
    const provider = await this.prisma.provider.findUnique({ where: { id: providerId }, include: { stiPaAccount: true, ocns: { orderBy: { code: 'asc' } } } });
    if (!provider) throw notFound('PROVIDER.NOT_FOUND', `no provider ${providerId}`);
    const checkedAt = this.clock.now();
    const providerItems = {
      frn: checkFrn(provider),
      filer499: checkFiler499(provider),
      rmd: checkRmd(provider),
      stiPaAccount: await this.login.check(provider.id, provider.stiPaAccount),
      signing: checkSigning(provider),
    };
    const ocns = await Promise.all(
      provider.ocns.map((ocn) => this.checkOcn({ providerId, ocnId: ocn.id, ocn: ocn.code }, providerItems, refusalOf(ocn), checkedAt)),
    );
    const provItems = { ...providerItems, ocns: checkOcns(providerId, provider.ocns.map((o) => o.code)) };
    return {
      providerId,
      legalName: provider.legalName,
      ready: allOk(provItems) && ocns.every((o) => o.ready),
      checkedAt,
      provider: provItems,
      ocns,
    };
  }

  private async checkOcn(
    ref: OcnRef,
    providerItems: Readonly<Record<ProviderItemName, ReadinessItem>>,
    refusal: OcnTokenRefusal | null,
    now: Date,
  ): Promise<OcnReadinessView> {
    const active = await findActiveCertificate(this.prisma, ref.ocnId);
    const [stiCaAccount, activeCertificate, signer] = await Promise.all([
      checkStiCaAccount(this.prisma, ref),
      checkActiveCertificate(this.prisma, ref, active, now),
      checkSigner(this.prisma, ref),
    ]);
    // After stiCaAccount: the token is bound to that account's key.
    const spcToken = await checkSpcToken(this.prisma, this.tokens, ref, providerItems.stiPaAccount, now, refusal);
    const items = { ...providerItems, stiCaAccount, spcToken, activeCertificate, publishedUrl: checkPublishedUrl(active), signer };
    return { ocn: ref.ocn, ready: allOk(items), items };
  }
}

const refusalOf = (ocn: { tokenRefusedAt: Date | null; tokenRefusalCode: string | null; tokenRefusedReason: string | null }): OcnTokenRefusal | null =>
  ocn.tokenRefusedAt ? { at: ocn.tokenRefusedAt, code: ocn.tokenRefusalCode, reason: ocn.tokenRefusedReason } : null;
