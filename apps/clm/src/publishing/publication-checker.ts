import { Injectable } from '@nestjs/common';
import type { Publication } from '@app/db';
import { Clock } from '../common/clock.js';
import { PublicationLedger } from './publication-ledger.js';
import { StiCrAccess } from './sti-cr-access.js';
import { checkLikeAVerifier, type VerifierCheckResult } from './verifier-check.js';

/** Verifiers give up on an x5u after a few seconds; a slower repository fails the check. */
const CHECK_TIMEOUT_MS = 10_000;

/** Checks a publication's URL as a verifier would and records the outcome on its row. */
@Injectable()
export class PublicationChecker {
  constructor(
    private readonly access: StiCrAccess,
    private readonly ledger: PublicationLedger,
    private readonly clock: Clock,
  ) {}

  /** `issuedChainPem` is the chain as we issued it: the URL must serve exactly these bytes. */
  async check(
    publication: Publication,
    issuedChainPem: string,
    trigger: 'publish' | 'probe' | 'on_demand',
  ): Promise<{ publication: Publication; result: VerifierCheckResult }> {
    const result = await checkLikeAVerifier(publication.url, Buffer.from(issuedChainPem, 'utf8'), {
      dispatcher: this.access.dispatcher,
      now: this.clock.now(),
      timeoutMs: CHECK_TIMEOUT_MS,
    });
    return { publication: await this.ledger.recordCheck(publication, result, trigger), result };
  }
}
