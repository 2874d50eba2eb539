import { Injectable } from '@nestjs/common';
import type { OrderContext } from '../order-context.js';
import { SpcTokens } from '../spc-tokens.js';
import type { OrderStep, StepOutcome } from './order-step.js';

/**
 * account_ready → token_obtained: a verified SPC token for the OCN bound to the ACME account
 * key. A still-valid stored token for the same account and OCN is reused (the STI-PA is
 * rate-sensitive); repeating the step after a crash at worst asks the STI-PA once more.
 */
@Injectable()
export class ObtainSpcTokenStep implements OrderStep {
  readonly name = 'obtainSpcToken' as const;

  constructor(private readonly tokens: SpcTokens) {}

  async run(context: OrderContext): Promise<StepOutcome> {
    const { token, reused } = await this.tokens.obtain(context, { fresh: false });
    return {
      order: { spcTokenId: token.id },
      details: { spcTokenId: token.id, jti: token.jti, expiresAt: token.expiresAt.toISOString(), reused, crlUrl: token.crlUrl },
    };
  }
}
