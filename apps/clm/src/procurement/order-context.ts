import type { AcmeAccount, Certificate, CertificateOrder, Ocn, PrivateKey, Provider, SpcToken, StiCa, StiPaAccount, Tx } from '@app/db';
import { ProcurementError } from './procurement-errors.js';

/** Everything one step may read about its order, loaded fresh before each step. */
export interface OrderContext {
  readonly order: CertificateOrder & { readonly spcToken: SpcToken | null };
  readonly certificate: Certificate & { readonly key: PrivateKey };
  readonly provider: Provider & { readonly stiPaAccount: StiPaAccount | null };
  readonly ocn: Ocn;
  readonly stiCa: StiCa;
  /** The provider's ACME account on this STI-CA (with its key), once it exists. */
  readonly acmeAccount: (AcmeAccount & { readonly key: PrivateKey }) | null;
}

export async function loadOrderContext(db: Tx, orderId: string): Promise<OrderContext> {
  const order = await db.certificateOrder.findUnique({
    where: { id: orderId },
    include: {
      spcToken: true,
      certificate: { include: { key: true, ocn: true, stiCa: true, provider: { include: { stiPaAccount: true } } } },
    },
  });
  if (!order) throw new ProcurementError('CERTIFICATE_ORDER.NOT_FOUND', `no certificate order ${orderId}`, true);
  const { certificate, ...orderFields } = order;
  const { ocn, stiCa, provider, ...certificateFields } = certificate;
  const acmeAccount = await db.acmeAccount.findUnique({
    where: { stiCaId_providerId: { stiCaId: stiCa.id, providerId: provider.id } },
    include: { key: true },
  });
  return { order: orderFields, certificate: certificateFields, provider, ocn, stiCa, acmeAccount };
}
