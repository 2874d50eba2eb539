import { base64UrlDecode, type CryptoKey } from '@app/shaken';
import type { AuthorizationRecord, ChallengeRecord, ProblemRecord } from '../../state/records.js';
import type { FaultState } from '../../faults/fault-state.js';
import type { SandboxStore } from '../../state/sandbox-store.js';
import { AcmeProblem, notFound } from './acme-problem.js';
import { importJwk, type VerifiedRequest } from './acme-request.js';
import { authorizationStatus } from './acme-resources.js';
import type { BackgroundWork } from './background-work.js';

/** Checks an SPC token against an authorization; throws an AcmeProblem saying why it fails. */
export type SpcTokenCheck = (token: string, expected: { tnAuthList: Uint8Array; accountKey: CryptoKey; now: Date }) => Promise<void>;

/** How long validation "takes": long enough for clients to see `processing` and poll. */
const VALIDATION_DELAY_MS = 150;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * tkauth-01 challenges (RFC 9447): the client answers with `{"atc": <SPC token>}`; the sandbox
 * moves the challenge to `processing`, validates the token in the background and settles it as
 * `valid` or `invalid` with the reason in `error`.
 */
export class AcmeChallenges {
  constructor(
    private readonly store: SandboxStore,
    private readonly checkToken: SpcTokenCheck,
    private readonly background: BackgroundWork,
    private readonly clock: () => Date,
    private readonly faults: FaultState,
  ) {}

  find(request: VerifiedRequest, challengeId: string): AuthorizationRecord {
    const authz = this.store.state.authorizations.find((candidate) => candidate.challenge.id === challengeId);
    if (!authz) throw notFound('challenge');
    if (authz.accountId !== request.account?.id) throw new AcmeProblem('unauthorized', 'this challenge belongs to another account');
    return authz;
  }

  /** POST to a challenge URL: POST-as-GET returns it; a response starts validation. */
  async respond(request: VerifiedRequest, challengeId: string): Promise<AuthorizationRecord> {
    const authz = this.find(request, challengeId);
    if (request.payload === undefined) return authz;
    const payload = request.payload;
    if (!isObject(payload)) throw new AcmeProblem('malformed', 'a challenge response is a JSON object');
    const unknown = Object.keys(payload).filter((key) => key !== 'atc');
    if (unknown.length > 0) throw new AcmeProblem('malformed', `a tkauth-01 response carries only "atc", not ${unknown.join(', ')}`);
    // RFC 9447 §4: the response is {"atc": <Authority Token>}; an empty {} proves nothing here.
    if (typeof payload.atc !== 'string' || payload.atc === '') {
      throw new AcmeProblem('malformed', 'a tkauth-01 response needs the SPC token in "atc"');
    }
    const token = payload.atc;
    const now = this.clock();
    const status = authorizationStatus(authz, now);
    const challenge = authz.challenge;
    // RFC 8555 §7.1.6: only a pending challenge takes a response; `invalid` is final for the
    // challenge, its authorization and its order. Refused as Pebble and Boulder do (400 malformed,
    // same wording), so a client that re-posts instead of placing a new order fails here too.
    if (challenge.status !== 'pending') {
      const hint = challenge.status === 'invalid' ? '; place a new order and answer its challenge' : '';
      throw new AcmeProblem('malformed', `Cannot update challenge with status ${challenge.status}, only status pending${hint}`);
    }
    if (status === 'expired' || status === 'deactivated') throw new AcmeProblem('malformed', `the authorization is ${status}`);
    const accountKey = await importJwk(request.account!.jwk);
    const updated = await this.store.update((state) => {
      const record = state.authorizations.find((candidate) => candidate.id === authz.id);
      if (!record) throw notFound('authorization');
      record.challenge.status = 'processing';
      record.challenge.attempts += 1;
      return record;
    });
    const tnAuthList = base64UrlDecode(authz.tnAuthList);
    if (tnAuthList === undefined) throw new Error(`stored TNAuthList of authorization ${authz.id} is corrupt`);
    this.background.run(VALIDATION_DELAY_MS, () => this.validate(authz.id, token, tnAuthList, accountKey));
    return updated;
  }

  private async validate(authzId: string, token: string, tnAuthList: Uint8Array, accountKey: CryptoKey): Promise<void> {
    let outcome: Pick<ChallengeRecord, 'status' | 'validated' | 'error'>;
    try {
      if (this.faults.takeChallengeRefusal()) {
        throw new AcmeProblem('unauthorized', 'SPC_TOKEN.REVOKED: the STI-PA revoked this SPC token (sandbox fault refuseChallenges)');
      }
      await this.checkToken(token, { tnAuthList, accountKey, now: this.clock() });
      outcome = { status: 'valid', validated: this.clock().toISOString() };
    } catch (error) {
      const problem: ProblemRecord =
        error instanceof AcmeProblem ? error.toRecord() : { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'validation failed unexpectedly', status: 500 };
      outcome = { status: 'invalid', error: problem };
    }
    await this.store.update((state) => {
      const record = state.authorizations.find((candidate) => candidate.id === authzId);
      if (!record || record.challenge.status !== 'processing') return;
      record.challenge.status = outcome.status;
      if (outcome.validated) record.challenge.validated = outcome.validated;
      if (outcome.error) record.challenge.error = outcome.error;
      else delete record.challenge.error;
    });
  }
}
