import { Inject, Injectable } from '@nestjs/common';
import { AcmeErrorCode, isAcmeError, TN_AUTH_LIST_IDENTIFIER_TYPE, type AcmeClient, type AcmeOrder } from '@app/acme';
import { PrismaService } from '@app/db';
import type { Keystore } from '@app/keystore';
import { bytesEqual, decodeAcmeIdentifierValue, tnAuthListForSpc } from '@app/shaken';
import { Clock } from '../../common/clock.js';
import { KEYSTORE } from '../../config/config.module.js';
import type { OrderContext } from '../order-context.js';
import { StiClients } from '../sti-clients.js';
import { withAcmeAccount } from './acme-session.js';
import type { OrderStep, StepJournal, StepOutcome } from './order-step.js';

const DAY_MS = 86_400_000;
/** Timeline entry written just before newOrder is sent. */
export const NEW_ORDER_SENT = 'acme.new_order_sent';

/**
 * token_obtained → order_created: newOrder with the OCN's TNAuthList identifier in the CA's
 * encoding (RFC 9448 §3) and the requested validity.
 *
 * Crash safety: newOrder is the one request whose repetition leaves something behind (a second
 * order at the CA). So "about to send newOrder" is journaled first; if the step runs again after
 * such a note, it first looks through the account's orders list (RFC 8555 §7.1.2.1) for a
 * pending or ready order for this identifier that no order of ours has recorded, and adopts it.
 * Residual window: a CA without an orders list gives us nothing to look in; then a second order
 * is created and the first expires unused at the CA (the event says so).
 */
@Injectable()
export class CreateAcmeOrderStep implements OrderStep {
  readonly name = 'createAcmeOrder' as const;

  constructor(
    private readonly prisma: PrismaService,
    private readonly clients: StiClients,
    private readonly clock: Clock,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  run(context: OrderContext, journal: StepJournal): Promise<StepOutcome> {
    return withAcmeAccount(context, this.clients, this.keystore, async (client) => {
      const tnAuthList = tnAuthListForSpc(context.ocn.code);
      let orphanPossible = false;
      if (await journal.noted(NEW_ORDER_SENT)) {
        const lookup = await this.findOrderSentBefore(client, tnAuthList);
        if (lookup.order) return outcome(lookup.order, { adopted: true });
        orphanPossible = !lookup.searched;
      }
      const validityDays = context.certificate.validityDays ?? context.stiCa.validityDays;
      const notAfter = validityDays ? new Date(this.clock.now().getTime() + validityDays * DAY_MS) : undefined;
      await journal.note(NEW_ORDER_SENT, { ocn: context.ocn.code, ...(notAfter ? { notAfter: notAfter.toISOString() } : {}) });
      const order = await client.createOrder({
        identifiers: [{ type: TN_AUTH_LIST_IDENTIFIER_TYPE, der: tnAuthList }],
        ...(notAfter ? { notAfter } : {}),
      });
      return outcome(order, { adopted: false, ...(orphanPossible ? { orphanPossible } : {}) });
    });
  }

  /** An order for this TNAuthList at the CA that is still open and not recorded by any of ours. */
  private async findOrderSentBefore(client: AcmeClient, tnAuthList: Uint8Array): Promise<{ searched: boolean; order?: AcmeOrder }> {
    let urls: string[];
    try {
      urls = await client.listOrders();
    } catch (error) {
      if (isAcmeError(error, AcmeErrorCode.UNSUPPORTED_OPERATION)) return { searched: false };
      throw error;
    }
    const recorded = new Set(
      (await this.prisma.certificateOrder.findMany({ where: { acmeOrderUrl: { in: urls } }, select: { acmeOrderUrl: true } })).map((o) => o.acmeOrderUrl),
    );
    for (const url of urls.filter((candidate) => !recorded.has(candidate))) {
      const order = await client.getOrder(url);
      if ((order.status === 'pending' || order.status === 'ready') && sameIdentifier(order, tnAuthList)) return { searched: true, order };
    }
    return { searched: true };
  }
}

function sameIdentifier(order: AcmeOrder, tnAuthList: Uint8Array): boolean {
  if (order.identifiers.length !== 1) return false;
  const [identifier] = order.identifiers;
  if (identifier?.type !== TN_AUTH_LIST_IDENTIFIER_TYPE) return false;
  try {
    return bytesEqual(decodeAcmeIdentifierValue(identifier.value), tnAuthList);
  } catch {
    return false;
  }
}

function outcome(order: AcmeOrder, extra: Record<string, boolean>): StepOutcome {
  return {
    order: { acmeOrderUrl: order.url, finalizeUrl: order.finalize },
    details: { acmeOrderUrl: order.url, acmeStatus: order.status, ...(order.expires ? { expires: order.expires } : {}), ...extra },
  };
}
