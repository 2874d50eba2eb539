import { AcmeErrorCode, AcmeStatusError, AcmeUsageError, isAcmeError } from './errors.js';
import type { AcmeAuthorization, AcmeChallenge, AcmeOrder } from './resources.js';

/** RFC 9447 §3: the Authority Token challenge type, and the `atc` token type SHAKEN uses. */
export const TKAUTH_CHALLENGE_TYPE = 'tkauth-01';
export const TKAUTH_TYPE_ATC = 'atc';

export interface CompleteTkauthOptions {
  authzUrl: string;
  /**
   * Returns an SPC token (compact JWS) from the STI-PA for this order's TNAuthList and the current
   * account-key fingerprint. Called at most once, and only when the challenge is still `pending`.
   */
  getToken: () => Promise<string>;
}

export interface AuthorizeTkauthOrderOptions {
  /** The order whose authorizations are to be completed. */
  order: AcmeOrder;
  /** As in CompleteTkauthOptions; called once per order tried, so every retry sends a fresh token. */
  getToken: () => Promise<string>;
  /**
   * Places the replacement order after a challenge turned invalid. Default: newOrder with the
   * same identifiers (and notBefore/notAfter) as the order that failed.
   */
  reorder?: () => Promise<AcmeOrder>;
  /** New orders after an invalid challenge. Default 2: the STI-PA is rate-sensitive (STIR-SHAKEN.md §4). */
  maxRetries?: number;
}

/** What the helpers need from the client (kept structural so they can be tested on their own). */
export interface TkauthChallengeClient {
  getAuthorization(url: string): Promise<AcmeAuthorization>;
  respondToChallenge(url: string, payload: Record<string, unknown>): Promise<AcmeChallenge>;
  waitForChallenge(url: string): Promise<AcmeChallenge>;
  waitForAuthorization(url: string): Promise<AcmeAuthorization>;
}

export interface TkauthOrderClient extends TkauthChallengeClient {
  createOrder(options: { identifiers: AcmeOrder['identifiers']; notBefore?: string; notAfter?: string }): Promise<AcmeOrder>;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Answers the authorization's tkauth-01 challenge with `{"atc": <token>}` (RFC 9447 §4), once,
 * and waits for the outcome. Resolves with the valid authorization; throws ACME.CHALLENGE_INVALID
 * with the CA's problem otherwise. RFC 8555 §7.1.6: `invalid` is final for the challenge, its
 * authorization and its order, so an invalid challenge is never answered again (a CA refuses it,
 * Pebble with "Cannot update challenge with status invalid"): a retry needs a new order, see
 * authorizeTkauthOrder. Likewise a challenge already `processing` or `valid` is only waited for.
 * The token never appears in errors.
 */
export async function completeTkauthChallenge(client: TkauthChallengeClient, options: CompleteTkauthOptions): Promise<AcmeAuthorization> {
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

  let settled: AcmeChallenge;
  if (challenge.status === 'pending') {
    const token = await options.getToken();
    if (typeof token !== 'string' || !COMPACT_JWS.test(token)) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'getToken did not return a compact JWS');
    }
    const posted = await client.respondToChallenge(challenge.url, { atc: token });
    settled = posted.status === 'valid' || posted.status === 'invalid' ? posted : await client.waitForChallenge(challenge.url);
  } else {
    settled = challenge.status === 'processing' ? await client.waitForChallenge(challenge.url) : challenge;
  }
  if (settled.status === 'valid') return client.waitForAuthorization(options.authzUrl);
  throw new AcmeStatusError(AcmeErrorCode.CHALLENGE_INVALID, challenge.url, 'invalid', settled.error);
}

/**
 * Completes every tkauth-01 authorization of `order`. When a challenge turns invalid, the order
 * is dead (RFC 8555 §7.1.6), so a NEW order for the same identifiers is placed and answered with
 * a freshly obtained token, at most `maxRetries` times (STIR-SHAKEN.md §4); then the last
 * ACME.CHALLENGE_INVALID, with the CA's problem, is thrown. Resolves with the order whose
 * authorizations are valid: the one to finalize, which is not `order` after a retry.
 */
export async function authorizeTkauthOrder(client: TkauthOrderClient, options: AuthorizeTkauthOrderOptions): Promise<AcmeOrder> {
  const maxRetries = options.maxRetries ?? 2;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'maxRetries must be a non-negative integer');
  }
  const first = options.order;
  const reorder = options.reorder ?? (() => client.createOrder({
    identifiers: first.identifiers,
    ...(first.notBefore ? { notBefore: first.notBefore } : {}),
    ...(first.notAfter ? { notAfter: first.notAfter } : {}),
  }));
  let order = first;
  for (let retry = 0; ; retry++) {
    try {
      for (const authzUrl of order.authorizations) await completeTkauthChallenge(client, { authzUrl, getToken: options.getToken });
      return order;
    } catch (error) {
      if (!isAcmeError(error, AcmeErrorCode.CHALLENGE_INVALID) || retry >= maxRetries) throw error;
    }
    order = await reorder();
  }
}
