import { Inject, Injectable } from '@nestjs/common';
import type { ExternalAccountBinding } from '@app/acme';
import { PrismaService, type AcmeAccount, type PrivateKey, type StiCa } from '@app/db';
import type { Keystore } from '@app/keystore';
import { AuditService } from '../../audit/audit.service.js';
import { KEYSTORE } from '../../config/config.module.js';
import { eabHmacAad } from '../../common/sealed-secrets.js';
import { newSealedP256Key, openKeyPair } from '../key-material.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import { StiClients } from '../sti-clients.js';
import type { OrderStep, StepOutcome } from './order-step.js';

type AccountWithKey = AcmeAccount & { key: PrivateKey };

/**
 * key_generated → account_ready: the provider's ACME account on this STI-CA (one per provider
 * and CA, RFC 8555 §7.3), with a key of its own. The key and a `pending` row are committed
 * before newAccount is sent; newAccount with a known key returns the existing account
 * (RFC 8555 §7.3.1), so a crash between the two costs nothing and creates no second account.
 */
@Injectable()
export class EnsureAcmeAccountStep implements OrderStep {
  readonly name = 'ensureAcmeAccount' as const;

  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clients: StiClients,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async run(context: OrderContext): Promise<StepOutcome> {
    const account = context.acmeAccount ?? (await this.createPendingAccount(context.provider.id, context.stiCa.id));
    if (account.status === 'deactivated' || account.status === 'revoked') {
      throw new ProcurementError('ACME_ACCOUNT.UNUSABLE', `the ACME account at ${context.stiCa.name} is ${account.status}`, true);
    }
    if (account.status === 'valid' && account.accountUrl) {
      return { details: { acmeAccountId: account.id, accountUrl: account.accountUrl, registered: false } };
    }
    const client = this.clients.acme(context.stiCa, await openKeyPair(this.keystore, account.key));
    try {
      const eab = this.externalAccountBinding(context.stiCa);
      // ATIS-1000080 v005 §6.3.2: STI-CAs may require EAB; sending it to one that doesn't is harmless.
      const remote = await client.createAccount({ termsOfServiceAgreed: true, ...(eab ? { externalAccountBinding: eab } : {}) });
      await this.prisma.transaction(async (tx) => {
        await tx.acmeAccount.update({ where: { id: account.id }, data: { accountUrl: remote.url, status: 'valid' } });
        await this.audit.record({ type: 'system', component: 'procurement' }, {
          action: 'acme_account.registered', subjectType: 'acme_account', subjectId: account.id,
          details: { stiCaId: context.stiCa.id, providerId: context.provider.id, accountUrl: remote.url },
        }, tx);
      });
      return { details: { acmeAccountId: account.id, accountUrl: remote.url, registered: true } };
    } finally {
      await client.close();
    }
  }

  private externalAccountBinding(stiCa: StiCa): ExternalAccountBinding | undefined {
    if (!stiCa.eabKid || !stiCa.eabHmacSealed) return undefined;
    return { kid: stiCa.eabKid, hmacKey: this.keystore.open(stiCa.eabHmacSealed, eabHmacAad(stiCa.id)).toString('utf8') };
  }

  /**
   * The key and the pending account row in one transaction. Two orders of the same provider on
   * the same CA may race here: the unique (sti_ca_id, provider_id) lets one win, and the other
   * rolls back its key and uses the winner's account.
   */
  private async createPendingAccount(providerId: string, stiCaId: string): Promise<AccountWithKey> {
    const key = await newSealedP256Key(this.keystore, 'acme_account');
    try {
      return await this.prisma.transaction(async (tx) => {
        await tx.privateKey.create({ data: key });
        return tx.acmeAccount.create({ data: { providerId, stiCaId, keyId: key.id, status: 'pending' }, include: { key: true } });
      });
    } catch (error) {
      const existing = await this.prisma.acmeAccount.findUnique({ where: { stiCaId_providerId: { stiCaId, providerId } }, include: { key: true } });
      if (existing) return existing;
      throw error;
    }
  }
}
