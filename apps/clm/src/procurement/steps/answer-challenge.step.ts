import { Inject, Injectable } from '@nestjs/common';
import { AcmeErrorCode, isAcmeError } from '@app/acme';
import type { Keystore } from '@app/keystore';
import { Clock } from '../../common/clock.js';
import { KEYSTORE } from '../../config/config.module.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import { SpcTokens } from '../spc-tokens.js';
import { StiClients } from '../sti-clients.js';
import { requireAcmeOrderUrl, withAcmeAccount } from './acme-session.js';
import type { OrderStep, StepOutcome } from './order-step.js';

/** A token must have this long left to be sent; the CA checks exp when it validates. */
const MIN_TOKEN_REMAINING_MS = 60_000;
/** RFC 9447 retries with a fresh token after an invalid challenge; the STI-PA is rate-sensitive. */
const MAX_CHALLENGE_RETRIES = 2;

/**
 * order_created → challenge_answered: every authorization's tkauth-01 challenge answered with
 * {"atc": <SPC token>} (RFC 9447 §4). The token obtained in the previous step goes first; if
 * the CA turns the challenge invalid, a fresh token is fetched and the answer repeated, at most
 * twice (RFC 8555 §8.2). Idempotent: an order already past `pending`, or an authorization
 * already valid, is not answered again.
 */
@Injectable()
export class AnswerChallengeStep implements OrderStep {
  readonly name = 'answerChallenge' as const;

  constructor(
    private readonly tokens: SpcTokens,
    private readonly clients: StiClients,
    private readonly clock: Clock,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  run(context: OrderContext): Promise<StepOutcome> {
    const orderUrl = requireAcmeOrderUrl(context);
    return withAcmeAccount(context, this.clients, this.keystore, async (client) => {
      const order = await client.getOrder(orderUrl);
      if (order.status === 'invalid') {
        throw new ProcurementError('ACME.ORDER_INVALID', `ACME order ${orderUrl} is invalid${order.error?.detail ? `: ${order.error.detail}` : ''}`, true);
      }
      if (order.status !== 'pending') return { details: { acmeStatus: order.status, answered: 0 } };

      const used: string[] = [];
      let stored = context.order.spcToken;
      const nextToken = async (): Promise<string> => {
        const now = this.clock.now().getTime();
        if (stored && stored.status === 'valid' && stored.expiresAt.getTime() - now > MIN_TOKEN_REMAINING_MS) {
          const token = stored;
          stored = null;
          used.push(token.id);
          return token.tokenJws;
        }
        stored = null;
        const { token } = await this.tokens.obtain(context, { fresh: used.length > 0 });
        used.push(token.id);
        return token.tokenJws;
      };
      try {
        for (const authzUrl of order.authorizations) {
          await client.completeTkauthChallenge({ authzUrl, getToken: nextToken, maxRetries: MAX_CHALLENGE_RETRIES });
        }
      } catch (error) {
        if (isAcmeError(error, AcmeErrorCode.CHALLENGE_INVALID)) await this.tokens.markRefused(used);
        throw error;
      }
      const last = used.at(-1);
      return {
        ...(last ? { order: { spcTokenId: last } } : {}),
        details: { authorizations: order.authorizations.length, tokensSent: used.length },
      };
    });
  }
}
