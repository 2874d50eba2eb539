import type { SandboxUrls } from '../../common/sandbox-urls.js';
import type { AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord } from '../../state/records.js';

/**
 * The JSON objects of RFC 8555 §7.1 as the sandbox serves them, and the status of orders and
 * authorizations, derived from their parts (RFC 8555 §7.1.6) rather than stored twice.
 */

export type AuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired';
export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

/** RFC 9447 §3: the Authority Token challenge; SHAKEN uses token type "atc" (RFC 9448). */
export const TKAUTH_01 = 'tkauth-01';

export function authorizationStatus(authz: AuthorizationRecord, now: Date): AuthorizationStatus {
  if (authz.deactivated) return 'deactivated';
  if (authz.challenge.status === 'invalid') return 'invalid';
  if (new Date(authz.expires) <= now) return 'expired';
  if (authz.challenge.status === 'valid') return 'valid';
  return 'pending';
}

export function orderStatus(order: OrderRecord, authzs: readonly AuthorizationRecord[], now: Date): OrderStatus {
  if (order.finalization === 'valid') return 'valid';
  if (order.finalization === 'invalid' || order.error) return 'invalid';
  if (order.finalization === 'processing') return 'processing';
  if (new Date(order.expires) <= now) return 'invalid';
  const statuses = authzs.map((authz) => authorizationStatus(authz, now));
  if (statuses.some((status) => status === 'invalid' || status === 'deactivated' || status === 'expired')) return 'invalid';
  return statuses.every((status) => status === 'valid') ? 'ready' : 'pending';
}

export function accountUrl(urls: SandboxUrls, account: AccountRecord): string {
  return urls.acme(`account/${account.id}`);
}

export function renderAccount(urls: SandboxUrls, account: AccountRecord): Record<string, unknown> {
  return {
    status: account.status,
    contact: account.contact,
    termsOfServiceAgreed: account.termsOfServiceAgreed,
    orders: urls.acme(`account/${account.id}/orders`),
    createdAt: account.createdAt,
    ...(account.eabKid ? { externalAccountBinding: { kid: account.eabKid } } : {}),
  };
}

export function renderChallenge(urls: SandboxUrls, challenge: ChallengeRecord): Record<string, unknown> {
  return {
    type: TKAUTH_01,
    url: urls.acme(`chall/${challenge.id}`),
    status: challenge.status,
    token: challenge.token,
    'tkauth-type': 'atc',
    ...(challenge.validated ? { validated: challenge.validated } : {}),
    ...(challenge.error ? { error: challenge.error } : {}),
  };
}

export function renderAuthorization(urls: SandboxUrls, authz: AuthorizationRecord, now: Date): Record<string, unknown> {
  return {
    identifier: authz.identifier,
    status: authorizationStatus(authz, now),
    expires: authz.expires,
    challenges: [renderChallenge(urls, authz.challenge)],
  };
}

export function renderOrder(urls: SandboxUrls, order: OrderRecord, authzs: readonly AuthorizationRecord[], now: Date): Record<string, unknown> {
  const status = orderStatus(order, authzs, now);
  return {
    status,
    expires: order.expires,
    identifiers: order.identifiers,
    ...(order.notBefore ? { notBefore: order.notBefore } : {}),
    ...(order.notAfter ? { notAfter: order.notAfter } : {}),
    authorizations: order.authorizationIds.map((id) => urls.acme(`authz/${id}`)),
    finalize: urls.acme(`order/${order.id}/finalize`),
    ...(order.certificateId && status === 'valid' ? { certificate: urls.acme(`cert/${order.certificateId}`) } : {}),
    ...(order.error ? { error: order.error } : {}),
  };
}
