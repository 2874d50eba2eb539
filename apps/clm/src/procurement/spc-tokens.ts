import { webcrypto } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { accountKeyFingerprint } from '@app/acme';
import { PrismaService, type SpcToken } from '@app/db';
import type { Keystore } from '@app/keystore';
import { importSpki, tnAuthListForSpc, verifySpcToken } from '@app/shaken';
import { isStiPaError } from '@app/sti-pa';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { KEYSTORE } from '../config/config.module.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';
import type { OrderContext } from './order-context.js';
import { ProcurementError } from './procurement-errors.js';
import { sealSpcToken } from './sealed-spc-token.js';
import { StiClients } from './sti-clients.js';
import { StiPaTrust } from './sti-pa-trust.js';
import { clearTokenRefusal, flagTokenRefusal, isTokenRefusal } from './token-refusal.js';

const PROCUREMENT = { type: 'system', component: 'procurement' } as const;

/** A stored token is reused only while it has this long left, so it cannot lapse mid-challenge. */
const MIN_REMAINING_MS = 10 * 60_000;

/**
 * SPC tokens (STIR-SHAKEN.md §3): requested from the provider's STI-PA API user for the OCN's
 * TNAuthList and the fingerprint of the ACME account key in the STI-CA's form, then verified
 * exactly as the STI-CA will (ES256 by the x5u certificate, chain to the pinned STI-PA root,
 * exp, tkvalue, fingerprint, ca) before anything is sent to the CA, and stored sealed (a bearer
 * credential, sealed-spc-token.ts).
 */
@Injectable()
export class SpcTokens {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clients: StiClients,
    private readonly trust: StiPaTrust,
    private readonly clock: Clock,
    private readonly events: LifecycleEvents,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  /** A usable token: a stored one for the same account and OCN (unless `fresh`), or a new one. */
  async obtain(context: OrderContext, options: { fresh: boolean }): Promise<{ token: SpcToken; reused: boolean }> {
    const account = context.acmeAccount;
    if (!account?.accountUrl) throw new ProcurementError('ACME_ACCOUNT.NOT_READY', 'the ACME account is not registered yet', false);
    const stiPaAccount = context.provider.stiPaAccount;
    if (!stiPaAccount) {
      throw new ProcurementError('PROVIDER.STI_PA_ACCOUNT_MISSING', `provider ${context.provider.id} has no STI-PA API user; PUT /api/v1/providers/{id}/sti-pa-account`, false);
    }
    if (!this.trust.hasPinnedRoots(stiPaAccount)) {
      throw new ProcurementError('STI_PA.ROOTS_NOT_PINNED', `no STI-PA root is pinned for a ${stiPaAccount.environment} STI-PA account (CLM_STI_PA_ROOTS_FILE; the embedded sandbox's root serves sandbox accounts only): SPC tokens cannot be verified`, false);
    }
    const fingerprint = await accountKeyFingerprint(await importSpki(account.key.publicKeySpki), context.stiCa.fingerprintForm, webcrypto.subtle);
    const now = this.clock.now();
    if (!options.fresh) {
      const stored = await this.prisma.spcToken.findFirst({
        where: {
          acmeAccountId: account.id, ocnId: context.ocn.id, status: 'valid', ca: false, fingerprint,
          expiresAt: { gt: new Date(now.getTime() + MIN_REMAINING_MS) },
        },
        orderBy: { expiresAt: 'desc' },
      });
      if (stored) return { token: stored, reused: true };
    }

    const client = this.clients.stiPa(stiPaAccount);
    const tnAuthList = tnAuthListForSpc(context.ocn.code);
    let grant;
    try {
      grant = await client.requestSpcToken({ ocn: context.ocn.code, tnAuthList, fingerprint });
    } catch (error) {
      await this.recordStiPaRefusal(context, error);
      throw error;
    }
    // ATIS-1000080 v005 §6.3.5: verify before use, with the same rules the STI-CA applies.
    const verified = await verifySpcToken(grant.token, {
      fetchCertificate: (x5u) => client.fetchCertificateChain(x5u),
      trustAnchors: this.trust.pinnedCertificates(stiPaAccount),
      expected: { tkvalue: tnAuthList, fingerprint, ca: false },
      now: this.clock.now(),
    });
    const token = await this.prisma.transaction(async (tx) => {
      const row = await tx.spcToken.create({
        data: {
          providerId: context.provider.id,
          ocnId: context.ocn.id,
          stiPaAccountId: stiPaAccount.id,
          acmeAccountId: account.id,
          ...sealSpcToken(this.keystore, grant.token),
          jti: verified.claims.jti,
          expiresAt: verified.expiresAt,
          crlUrl: grant.crlUrl ?? null,
          ca: false,
          fingerprint,
          status: 'valid',
        },
      });
      await tx.stiPaAccount.update({ where: { id: stiPaAccount.id }, data: { lastLoginAt: this.clock.now(), lastError: null } });
      await clearTokenRefusal(tx, this.audit, context.provider.id, context.ocn.code, PROCUREMENT);
      await this.audit.record(PROCUREMENT, {
        action: 'spc_token.obtained', subjectType: 'spc_token', subjectId: row.id,
        details: { providerId: context.provider.id, ocn: context.ocn.code, jti: row.jti, expiresAt: row.expiresAt.toISOString() },
      }, tx);
      return row;
    });
    return { token, reused: false };
  }

  /** The STI-CA turned a challenge answered with these tokens invalid (RFC 9447 §4). */
  async markRefused(tokenIds: readonly string[]): Promise<void> {
    if (tokenIds.length > 0) await this.prisma.spcToken.updateMany({ where: { id: { in: [...tokenIds] } }, data: { status: 'refused' } });
  }

  /**
   * Keeps the STI-PA's answer visible where operators look: the account's last error, and, when
   * the STI-PA refuses the provider a token, the provider flagged and provider.token_refused sent
   * once per refusal episode (token-refusal.ts, the same rule as the token job's probe).
   */
  private async recordStiPaRefusal(context: OrderContext, error: unknown): Promise<void> {
    if (!isStiPaError(error) || !context.provider.stiPaAccount) return;
    await this.prisma.transaction(async (tx) => {
      await tx.stiPaAccount.update({ where: { id: context.provider.stiPaAccount!.id }, data: { lastError: `${error.code}: ${error.message}`.slice(0, 1_000) } });
      if (!isTokenRefusal(error)) return;
      await flagTokenRefusal(tx, this.events, {
        providerId: context.provider.id, ocn: context.ocn.code, code: error.code, reason: error.message.slice(0, 1_000), at: this.clock.now(), actor: PROCUREMENT,
      });
    });
  }
}
