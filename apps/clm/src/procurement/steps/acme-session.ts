import type { AcmeClient } from '@app/acme';
import type { Keystore } from '@app/keystore';
import { openKeyPair } from '../key-material.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import type { StiClients } from '../sti-clients.js';

/** Runs `work` with an ACME client for the order's registered account, closing it afterwards. */
export async function withAcmeAccount<T>(
  context: OrderContext,
  clients: StiClients,
  keystore: Keystore,
  work: (client: AcmeClient) => Promise<T>,
): Promise<T> {
  const account = context.acmeAccount;
  if (!account?.accountUrl || account.status !== 'valid') {
    throw new ProcurementError('ACME_ACCOUNT.NOT_READY', `the ACME account at ${context.stiCa.name} is not registered`, false);
  }
  const client = clients.acme(context.stiCa, await openKeyPair(keystore, account.key), account.accountUrl);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** The order's ACME URL, which every step after createAcmeOrder needs. */
export function requireAcmeOrderUrl(context: OrderContext): string {
  if (!context.order.acmeOrderUrl) {
    throw new ProcurementError('CERTIFICATE_ORDER.INCONSISTENT', `order ${context.order.id} is ${context.order.state} without an ACME order URL`, true);
  }
  return context.order.acmeOrderUrl;
}
