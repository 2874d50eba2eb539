import { Injectable } from '@nestjs/common';
import { PrismaService, type Tx } from '@app/db';
import type { AdminActor } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import { conflict, notFound } from '../common/domain-error.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';
import { type ProviderView, ProvidersService } from './providers.service.js';

/**
 * Stops and restarts a provider's signing (STIR-SHAKEN.md §3: "a revoked provider must stop
 * signing" — the STI-GA revokes a provider's SPC token, e.g. an FCC 21-93 removal from the RMD).
 * While `providers.signing_suspended_at` is set, signers get 403 SIGNER.SIGNING_SUSPENDED for its
 * OCNs (pull and PASSporT signing), no certificate is ordered or imported for it, and readiness
 * shows `signing` failing. The column change fires the providers_signer_hand_off trigger
 * (migration signer_hand_off_notify), so every replica reloads its hand-off view at COMMIT and
 * long-polls parked on the provider's OCNs wake to the refusal.
 *
 * Only an operator sets it. An SPC token *refusal* by the STI-PA is not proof of revocation (a
 * lapsed 499-A, an API user without the OCN, an STI-PA fault all look alike), and stopping every
 * call's signature on a guess would do more harm than the refusal: the token job flags the
 * refused OCN (tokenRefusals, provider.token_refused, readiness spcToken failing) and leaves the
 * decision to a person.
 */
@Injectable()
export class SigningSuspension {
  constructor(
    private readonly prisma: PrismaService,
    private readonly providers: ProvidersService,
    private readonly events: LifecycleEvents,
    private readonly clock: Clock,
  ) {}

  async suspend(providerId: string, reason: string, actor: AdminActor): Promise<ProviderView> {
    const at = this.clock.now();
    await this.prisma.transaction(async (tx) => {
      // Compare-and-set: two operators at once make one transition and one event.
      const { count } = await tx.provider.updateMany({ where: { id: providerId, signingSuspendedAt: null }, data: { signingSuspendedAt: at, signingSuspendedReason: reason } });
      if (count === 0) {
        const current = await tx.provider.findUnique({ where: { id: providerId }, select: { signingSuspendedAt: true, signingSuspendedReason: true } });
        if (!current) throw notFound('PROVIDER.NOT_FOUND', `no provider ${providerId}`);
        throw conflict('PROVIDER.SIGNING_ALREADY_SUSPENDED', `provider ${providerId}'s signing is already suspended since ${current.signingSuspendedAt!.toISOString()} (${current.signingSuspendedReason ?? 'no reason'}); resume it first to change the reason`);
      }
      await this.events.emit(tx, {
        type: 'provider.signing_suspended',
        subject: { type: 'provider', id: providerId },
        actor: { type: 'admin', admin: actor },
        data: { reason, suspendedAt: at.toISOString(), ocns: await ocnCodes(tx, providerId) },
      });
    });
    return this.providers.get(providerId);
  }

  async resume(providerId: string, actor: AdminActor): Promise<ProviderView> {
    await this.prisma.transaction(async (tx) => {
      // FOR UPDATE: the reason reported in the event is the one this transition lifts.
      const [current] = await tx.$queryRaw<{ signing_suspended_at: Date | null; signing_suspended_reason: string | null }[]>`
        SELECT signing_suspended_at, signing_suspended_reason FROM providers WHERE id = ${providerId}::uuid FOR UPDATE`;
      if (!current) throw notFound('PROVIDER.NOT_FOUND', `no provider ${providerId}`);
      if (!current.signing_suspended_at) throw conflict('PROVIDER.SIGNING_NOT_SUSPENDED', `provider ${providerId}'s signing is not suspended`);
      await tx.provider.update({ where: { id: providerId }, data: { signingSuspendedAt: null, signingSuspendedReason: null } });
      await this.events.emit(tx, {
        type: 'provider.signing_resumed',
        subject: { type: 'provider', id: providerId },
        actor: { type: 'admin', admin: actor },
        data: {
          suspendedAt: current.signing_suspended_at.toISOString(),
          suspendedReason: current.signing_suspended_reason,
          resumedAt: this.clock.now().toISOString(),
          ocns: await ocnCodes(tx, providerId),
        },
      });
    });
    return this.providers.get(providerId);
  }
}

async function ocnCodes(tx: Tx, providerId: string): Promise<string[]> {
  return (await tx.ocn.findMany({ where: { providerId }, select: { code: true }, orderBy: { code: 'asc' } })).map((o) => o.code);
}
