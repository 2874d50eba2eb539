import { Inject, Injectable } from '@nestjs/common';
import { AcmeErrorCode, AcmeStatusError, isAcmeError, type AcmeClient, type AcmeOrder } from '@app/acme';
import type { Keystore } from '@app/keystore';
import { Clock } from '../../common/clock.js';
import { KEYSTORE } from '../../config/config.module.js';
import type { OrderContext } from '../order-context.js';
import { CHALLENGE_RETRY, MAX_CHALLENGE_RETRIES } from '../order-states.js';
import { ProcurementError } from '../procurement-errors.js';
import { openSpcToken } from '../sealed-spc-token.js';
import { SpcTokens } from '../spc-tokens.js';
import { StiClients } from '../sti-clients.js';
import { requireAcmeOrderUrl, withAcmeAccount } from './acme-session.js';
import type { OrderStep, StepOutcome } from './order-step.js';

/** A token must have this long left to be sent; the CA checks exp when it validates. */
const MIN_TOKEN_REMAINING_MS = 60_000;

/**
 * order_created → challenge_answered: every authorization's tkauth-01 challenge answered, once,
 * with {"atc": <SPC token>} (RFC 9447 §4). The token obtained earlier goes first, unless the
 * order was sent back for a fresh one.
 *
 * When the CA turns a challenge invalid, that challenge, its authorization and its ACME order are
 * finished (RFC 8555 §7.1.6; a CA refuses a second response). While retries are left the order
 * goes back to createAcmeOrder (CHALLENGE_RETRY) marked as needing a fresh token; after
 * MAX_CHALLENGE_RETRIES it fails with ACME.CHALLENGE_INVALID and the CA's problem.
 *
 * Idempotent: an order already past `pending`, or an authorization already valid, is not answered
 * again; a challenge already `processing` is only waited for; one found `invalid` after a crash is
 * handled as if it had just turned invalid.
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
        const failed = await invalidChallenge(client, order);
        if (failed) return this.retryOrFail(context, failed, []);
        throw new ProcurementError('ACME.ORDER_INVALID', `ACME order ${orderUrl} is invalid${order.error?.detail ? `: ${order.error.detail}` : ''}`, true);
      }
      if (order.status !== 'pending') return { details: { acmeStatus: order.status, answered: 0 } };

      const used: string[] = [];
      let stored = context.order.freshTokenNeeded ? null : context.order.spcToken;
      const nextToken = async (): Promise<string> => {
        const now = this.clock.now().getTime();
        if (stored && stored.status === 'valid' && stored.tokenSealed && stored.expiresAt.getTime() - now > MIN_TOKEN_REMAINING_MS) {
          const token = stored;
          stored = null;
          used.push(token.id);
          return openSpcToken(this.keystore, token);
        }
        stored = null;
        const { token } = await this.tokens.obtain(context, { fresh: context.order.freshTokenNeeded || used.length > 0 });
        used.push(token.id);
        return openSpcToken(this.keystore, token);
      };
      try {
        for (const authzUrl of order.authorizations) await client.completeTkauthChallenge({ authzUrl, getToken: nextToken });
      } catch (error) {
        if (error instanceof AcmeStatusError && error.code === AcmeErrorCode.CHALLENGE_INVALID) return this.retryOrFail(context, error, used);
        throw error;
      }
      const last = used.at(-1);
      return {
        order: { ...(last ? { spcTokenId: last } : {}), freshTokenNeeded: false },
        details: { authorizations: order.authorizations.length, tokensSent: used.length, challengeRetries: context.order.challengeRetries },
      };
    });
  }

  /** The CA turned a challenge invalid: back for a new ACME order and a fresh token, or give up. */
  private async retryOrFail(context: OrderContext, error: AcmeStatusError, used: readonly string[]): Promise<StepOutcome> {
    await this.tokens.markRefused(used);
    const retries = context.order.challengeRetries;
    const problem = error.problem ? { type: error.problem.type, ...(error.problem.detail ? { detail: error.problem.detail } : {}) } : undefined;
    if (retries >= MAX_CHALLENGE_RETRIES) {
      throw new ProcurementError(
        AcmeErrorCode.CHALLENGE_INVALID,
        `${error.message}; gave up after ${retries} new ACME order(s), each answered with a fresh SPC token`,
        true,
        {
          challengeUrl: error.url, challengeRetries: retries,
          ...(problem ? { problemType: problem.type, ...(problem.detail ? { problemDetail: problem.detail } : {}) } : {}),
        },
      );
    }
    return {
      transition: CHALLENGE_RETRY,
      order: { challengeRetries: retries + 1, freshTokenNeeded: true, acmeOrderUrl: null, finalizeUrl: null, spcTokenId: null },
      details: {
        invalidAcmeOrderUrl: context.order.acmeOrderUrl ?? null,
        challengeUrl: error.url,
        ...(problem ? { problem } : {}),
        challengeRetry: retries + 1,
        maxChallengeRetries: MAX_CHALLENGE_RETRIES,
      },
    };
  }
}

/**
 * Why an invalid order is invalid, when it is our challenge: the CHALLENGE_INVALID a fresh answer
 * would have produced (completeTkauthChallenge never answers an invalid challenge, it reports it).
 */
async function invalidChallenge(client: AcmeClient, order: AcmeOrder): Promise<AcmeStatusError | undefined> {
  for (const authzUrl of order.authorizations) {
    if ((await client.getAuthorization(authzUrl)).status !== 'invalid') continue;
    try {
      await client.completeTkauthChallenge({ authzUrl, getToken: () => Promise.reject(new Error('an invalid authorization takes no token')) });
    } catch (error) {
      if (isAcmeError(error, AcmeErrorCode.CHALLENGE_INVALID)) return error as AcmeStatusError;
    }
  }
  return undefined;
}
