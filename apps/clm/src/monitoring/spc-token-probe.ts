import { webcrypto } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { accountKeyFingerprint } from '@app/acme';
import { PrismaService } from '@app/db';
import type { Keystore } from '@app/keystore';
import { importSpki, tnAuthListForSpc, verifySpcToken } from '@app/shaken';
import { isStiPaError } from '@app/sti-pa';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { KEYSTORE } from '../config/config.module.js';
import { sealSpcToken } from '../procurement/sealed-spc-token.js';
import { StiClients } from '../procurement/sti-clients.js';
import { StiPaTrust } from '../procurement/sti-pa-trust.js';
import { clearTokenRefusal, flagTokenRefusal, isTokenRefusal, TOKEN_REFUSAL_NEXT_STEP } from '../procurement/token-refusal.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';

/** A stored token counts as obtainable while it has this long left (procurement reuses it then). */
const MIN_REMAINING_MS = 10 * 60_000;
const PROBE: { type: 'system'; component: string } = { type: 'system', component: 'spc-token-watch' };

export type TokenProbeResult =
  | { readonly status: 'ok'; readonly expiresAt: Date; readonly reused: boolean }
  | { readonly status: 'missing'; readonly reason: string; readonly nextStep: string }
  | { readonly status: 'failing'; readonly code: string; readonly reason: string; readonly refused: boolean; readonly nextStep: string };

/**
 * Can this provider get an SPC token for this OCN right now? Asks the STI-PA exactly as an order
 * would (STIR-SHAKEN.md §3: the OCN's TNAuthList and the ACME account key's fingerprint in the
 * STI-CA's form), verifies the token as the STI-CA will, and stores it so the next order reuses
 * it instead of asking again. A refusal flags the OCN (Ocn.tokenRefusedAt) and emits
 * provider.token_refused once per episode; the next token issued for that OCN clears the flag.
 */
@Injectable()
export class SpcTokenProbe {
  private readonly logger = new Logger('SpcTokenProbe');

  constructor(
    private readonly prisma: PrismaService,
    private readonly clients: StiClients,
    private readonly trust: StiPaTrust,
    private readonly events: LifecycleEvents,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async probe(providerId: string, ocnCode: string, options: { reuseStored: boolean }): Promise<TokenProbeResult> {
    const provider = await this.prisma.provider.findUnique({ where: { id: providerId }, include: { stiPaAccount: true } });
    const ocn = await this.prisma.ocn.findUnique({ where: { code: ocnCode } });
    if (!provider || !ocn || ocn.providerId !== providerId) return { status: 'missing', reason: `OCN ${ocnCode} is not onboarded for this provider`, nextStep: `POST /api/v1/providers/${providerId}/ocns {"ocn":"${ocnCode}"}` };
    if (!provider.stiPaAccount) {
      return { status: 'missing', reason: 'no STI-PA API user is configured', nextStep: `PUT /api/v1/providers/${providerId}/sti-pa-account with the API user from the STI-PA portal` };
    }
    if (!this.trust.hasPinnedRoots(provider.stiPaAccount)) {
      return { status: 'failing', code: 'STI_PA.ROOTS_NOT_PINNED', refused: false, reason: 'no STI-PA root is pinned, so no SPC token can be verified', nextStep: 'set CLM_STI_PA_ROOTS_FILE to the STI-PA root certificate' };
    }
    const account = await this.accountFor(providerId, ocn.id);
    if (!account) {
      return { status: 'missing', reason: 'the provider has no ACME account at an STI-CA yet; SPC tokens are bound to its key', nextStep: 'request a certificate (POST /api/v1/certificates): the ACME account is created with the first order' };
    }
    const fingerprint = await accountKeyFingerprint(await importSpki(account.key.publicKeySpki), account.stiCa.fingerprintForm, webcrypto.subtle);
    const now = this.clock.now();
    if (options.reuseStored) {
      const stored = await this.prisma.spcToken.findFirst({
        where: { acmeAccountId: account.id, ocnId: ocn.id, status: 'valid', ca: false, fingerprint, expiresAt: { gt: new Date(now.getTime() + MIN_REMAINING_MS) } },
        orderBy: { expiresAt: 'desc' },
      });
      if (stored) return { status: 'ok', expiresAt: stored.expiresAt, reused: true };
    }

    const client = this.clients.stiPa(provider.stiPaAccount);
    const tnAuthList = tnAuthListForSpc(ocn.code);
    try {
      const grant = await client.requestSpcToken({ ocn: ocn.code, tnAuthList, fingerprint });
      // ATIS-1000080 v005 §6.3.5: verified with the STI-CA's rules before it is kept.
      const verified = await verifySpcToken(grant.token, {
        fetchCertificate: (x5u) => client.fetchCertificateChain(x5u),
        trustAnchors: this.trust.pinnedCertificates(provider.stiPaAccount!),
        expected: { tkvalue: tnAuthList, fingerprint, ca: false },
        now: this.clock.now(),
      });
      await this.prisma.transaction(async (tx) => {
        const row = await tx.spcToken.create({
          data: {
            providerId, ocnId: ocn.id, stiPaAccountId: provider.stiPaAccount!.id, acmeAccountId: account.id,
            ...sealSpcToken(this.keystore, grant.token), jti: verified.claims.jti, expiresAt: verified.expiresAt, crlUrl: grant.crlUrl ?? null,
            ca: false, fingerprint, status: 'valid',
          },
        });
        await tx.stiPaAccount.update({ where: { id: provider.stiPaAccount!.id }, data: { lastLoginAt: this.clock.now(), lastError: null } });
        await this.audit.record(PROBE, { action: 'spc_token.obtained', subjectType: 'spc_token', subjectId: row.id, details: { providerId, ocn: ocn.code, jti: row.jti, expiresAt: row.expiresAt.toISOString(), by: 'probe' } }, tx);
        await clearTokenRefusal(tx, this.audit, providerId, ocn.code, PROBE);
      });
      return { status: 'ok', expiresAt: verified.expiresAt, reused: false };
    } catch (error) {
      return this.failed(providerId, ocn.code, provider.stiPaAccount.id, error);
    }
  }

  /** The ACME account tokens are bound to: the one at the STI-CA of the OCN's latest certificate, else any registered one. */
  private async accountFor(providerId: string, ocnId: string) {
    const latest = await this.prisma.certificate.findFirst({ where: { ocnId }, orderBy: { createdAt: 'desc' }, select: { stiCaId: true } });
    const accounts = await this.prisma.acmeAccount.findMany({
      where: { providerId, status: 'valid', accountUrl: { not: null } },
      include: { key: true, stiCa: true },
      orderBy: { createdAt: 'asc' },
    });
    return accounts.find((account) => account.stiCaId === latest?.stiCaId) ?? accounts[0];
  }

  private async failed(providerId: string, ocn: string, stiPaAccountId: string, error: unknown): Promise<TokenProbeResult> {
    const code = (error as { code?: string }).code ?? 'INTERNAL';
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1_000);
    const refused = isTokenRefusal(error);
    await this.prisma.transaction(async (tx) => {
      if (isStiPaError(error)) await tx.stiPaAccount.update({ where: { id: stiPaAccountId }, data: { lastError: `${code}: ${reason}` } });
      // One event per refusal episode, shared with procurement's refusals (token-refusal.ts).
      if (refused) await flagTokenRefusal(tx, this.events, { providerId, ocn, code, reason, at: this.clock.now(), actor: PROBE });
    });
    if (!refused) this.logger.warn({ msg: 'SPC token probe failed', providerId, ocn, code, reason });
    return {
      status: 'failing',
      code,
      reason,
      refused,
      nextStep: refused
        ? TOKEN_REFUSAL_NEXT_STEP
        : 'check the STI-PA API user (password, allow-listed source IP) and the STI-PA status, then try again',
    };
  }
}
