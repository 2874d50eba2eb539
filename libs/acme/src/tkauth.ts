import { AcmeErrorCode, AcmeStatusError, AcmeUsageError, type AcmeProblem } from './errors.js';
import type { AcmeAuthorization, AcmeChallenge } from './resources.js';

/** RFC 9447 §3: the Authority Token challenge type, and the `atc` token type SHAKEN uses. */
export const TKAUTH_CHALLENGE_TYPE = 'tkauth-01';
export const TKAUTH_TYPE_ATC = 'atc';

export interface CompleteTkauthOptions {
  authzUrl: string;
  /**
   * Returns an SPC token (compact JWS) from the STI-PA for this order's TNAuthList and the current
   * account-key fingerprint. Called once per attempt, so every retry uses a fresh token.
   */
  getToken: () => Promise<string>;
  /** Retries after the challenge turns invalid. Default 2: the STI-PA is rate-sensitive. */
  maxRetries?: number;
}

/** What the helper needs from the client (kept structural so it can be tested on its own). */
export interface TkauthChallengeClient {
  getAuthorization(url: string): Promise<AcmeAuthorization>;
  respondToChallenge(url: string, payload: Record<string, unknown>): Promise<AcmeChallenge>;
  waitForChallenge(url: string): Promise<AcmeChallenge>;
  waitForAuthorization(url: string): Promise<AcmeAuthorization>;
}

/**
 * Answers the authorization's tkauth-01 challenge with `{"atc": <token>}` (RFC 9447 §4) and waits
 * for the outcome. If the challenge becomes invalid, asks for a retry by posting again with a fresh
 * token (RFC 8555 §8.2), at most `maxRetries` times. Resolves with the valid authorization; throws
 * ACME.CHALLENGE_INVALID with the CA's last problem otherwise. The token never appears in errors.
 */
export async function completeTkauthChallenge(client: TkauthChallengeClient, options: CompleteTkauthOptions): Promise<AcmeAuthorization> {
  const maxRetries = options.maxRetries ?? 2;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'maxRetries must be a non-negative integer');
  }
  const authorization = await client.getAuthorization(options.authzUrl);
  if (authorization.status === 'valid') return authorization;
  // SHAKEN sends no token-authority hint (the client knows its STI-PA), so only the type is matched.
  const challenge = authorization.challenges.find(
    (c) => c.type === TKAUTH_CHALLENGE_TYPE && (c['tkauth-type'] === undefined || c['tkauth-type'] === TKAUTH_TYPE_ATC),
  );
  if (!challenge) {
    const offered = authorization.challenges.map((c) => c.type).join(', ') || 'none';
    throw new AcmeUsageError(
      AcmeErrorCode.CHALLENGE_NOT_OFFERED,
      `ACME authorization ${options.authzUrl} offers no tkauth-01 (atc) challenge (offered: ${offered})`,
    );
  }

  let lastProblem: AcmeProblem | undefined;
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    const token = await options.getToken();
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'getToken did not return a compact JWS');
    }
    const posted = await client.respondToChallenge(challenge.url, { atc: token });
    const settled = posted.status === 'valid' || posted.status === 'invalid' ? posted : await client.waitForChallenge(challenge.url);
    if (settled.status === 'valid') return client.waitForAuthorization(options.authzUrl);
    lastProblem = settled.error;
  }
  throw new AcmeStatusError(AcmeErrorCode.CHALLENGE_INVALID, challenge.url, 'invalid', lastProblem);
}
