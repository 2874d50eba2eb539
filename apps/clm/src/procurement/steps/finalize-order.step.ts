import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '@app/db';
import type { Keystore } from '@app/keystore';
import { buildShakenCsr, type CrlDistributionPoint } from '@app/shaken';
import { KEYSTORE } from '../../config/config.module.js';
import { openKeyPair } from '../key-material.js';
import { refuseRetiredKey } from '../key-retirement.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import { StiClients } from '../sti-clients.js';
import { StiPaTrust } from '../sti-pa-trust.js';
import { requireAcmeOrderUrl, withAcmeAccount } from './acme-session.js';
import type { OrderStep, StepJournal, StepOutcome } from './order-step.js';

/**
 * challenge_answered → finalized: the CSR (ATIS-1000080 v005 §6.3.3: P-256, ecdsa-with-SHA256,
 * subject C=US, O=<legal name>, CN=SHAKEN <SPC>, TNAuthList, and the STI-PA CRL as distribution
 * point) sent to the order's finalize URL, then waited on until the order is valid.
 *
 * Idempotent: an order already `processing` or `valid` at the CA was finalized before a crash
 * and is only waited for (RFC 8555 §7.4); the CSR is stored before it is sent.
 */
@Injectable()
export class FinalizeOrderStep implements OrderStep {
  readonly name = 'finalizeOrder' as const;

  constructor(
    private readonly prisma: PrismaService,
    private readonly clients: StiClients,
    private readonly trust: StiPaTrust,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async run(context: OrderContext, journal: StepJournal): Promise<StepOutcome> {
    const orderUrl = requireAcmeOrderUrl(context);
    // Before the CA certifies the key: a reused key condemned since the order began gets no certificate.
    await refuseRetiredKey(this.prisma, context.certificate, 'finalize');
    return withAcmeAccount(context, this.clients, this.keystore, async (client) => {
      const order = await client.getOrder(orderUrl);
      let csrId: string | undefined;
      let finalized = order;
      if (order.status === 'processing' || order.status === 'valid') {
        finalized = await client.waitForOrder(orderUrl, 'valid');
      } else {
        const csr = await buildShakenCsr({
          keys: await openKeyPair(this.keystore, context.certificate.key),
          legalName: context.provider.legalName,
          spc: context.ocn.code,
          ...(await this.crlDistributionPoint(context)),
        });
        csrId = (await this.prisma.csr.create({ data: { keyId: context.certificate.keyId, der: new Uint8Array(csr.der) } })).id;
        await journal.note('acme.finalize_sent', { csrId });
        finalized = await client.finalizeOrder(order, csr.der);
      }
      if (!finalized.certificate) {
        throw new ProcurementError('ACME.PROTOCOL', `ACME order ${orderUrl} is ${finalized.status} without a certificate URL`, false);
      }
      return {
        order: { certificateUrl: finalized.certificate },
        details: { certificateUrl: finalized.certificate, ...(csrId ? { csrId } : { alreadyFinalized: true }), ...(finalized.stiCrUrl ? { caStiCrUrl: finalized.stiCrUrl } : {}) },
      };
    });
  }

  /**
   * ATIS-1000080 v005 §6.4.1: the CRL Distribution Point names the STI-PA CRL by the URL the
   * token response gave and by its issuer's DN, read from that CRL itself.
   */
  private async crlDistributionPoint(context: OrderContext): Promise<{ crlDistributionPoint?: CrlDistributionPoint }> {
    const url = context.order.spcToken?.crlUrl;
    const stiPaAccount = context.provider.stiPaAccount;
    if (!url || !stiPaAccount) return {};
    const { crl } = await this.trust.crl(this.clients.stiPa(stiPaAccount), url, stiPaAccount);
    return { crlDistributionPoint: { url, issuerDn: crl.issuer } };
  }
}
