import { randomBytes, randomUUID } from 'node:crypto';
import { base64Decode, base64UrlDecode, base64UrlEncode, decodeTnAuthList, isShakenError, singleSpc } from '@app/shaken';
import type { AuthorizationRecord, OrderRecord } from '../../state/records.js';
import type { SandboxStore } from '../../state/sandbox-store.js';
import { AcmeProblem, notFound } from './acme-problem.js';
import { requireObjectPayload, type VerifiedRequest } from './acme-request.js';
import { authorizationStatus } from './acme-resources.js';

/** RFC 9448 §3: the identifier type of SHAKEN orders. */
export const TN_AUTH_LIST_TYPE = 'TNAuthList';

const ORDER_LIFETIME_MS = 7 * 86_400_000;
const DAY_MS = 86_400_000;

export interface OrderPolicy {
  /** Accept padded standard base64 identifier values too (RFC 9448 says base64url, no padding). */
  acceptPaddedIdentifiers: boolean;
  /** Longest validity a certificate may get, in days. */
  maxValidityDays: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The TNAuthList DER of an identifier value. RFC 9448 §3: "the base64url encoding (without
 * padding) of the DER TNAuthList"; padded standard base64 only when this sandbox is told to.
 */
export function identifierDer(value: unknown, policy: OrderPolicy): Uint8Array {
  if (typeof value !== 'string' || value === '') throw new AcmeProblem('malformed', 'identifier value must be a non-empty string');
  const padded = /[+/=]/.test(value);
  if (padded && !policy.acceptPaddedIdentifiers) {
    throw new AcmeProblem('rejectedIdentifier', 'TNAuthList identifier value must be base64url without padding (RFC 9448 §3)');
  }
  const der = padded ? base64Decode(value) : base64UrlDecode(value);
  if (der === undefined || der.byteLength === 0) {
    throw new AcmeProblem('malformed', `TNAuthList identifier value is not ${padded ? 'padded base64' : 'base64url'}`);
  }
  return der;
}

function readDate(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  // RFC 8555 §7.4: notBefore/notAfter are RFC 3339 date-times.
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new AcmeProblem('malformed', `${name} must be an RFC 3339 date-time`);
  }
  return new Date(value);
}

/**
 * newOrder and authorizations (RFC 8555 §7.4, §7.5) for TNAuthList identifiers only: one
 * identifier holding exactly one SPC, the end-entity certificate shape this STI-CA issues.
 */
export class AcmeOrders {
  constructor(
    private readonly store: SandboxStore,
    private readonly policy: OrderPolicy,
    private readonly clock: () => Date,
  ) {}

  async newOrder(request: VerifiedRequest): Promise<OrderRecord> {
    const account = request.account;
    if (!account) throw new AcmeProblem('malformed', 'newOrder must be signed with the account key ("kid")');
    const payload = requireObjectPayload(request, 'newOrder');
    const unknown = Object.keys(payload).filter((key) => !['identifiers', 'notBefore', 'notAfter'].includes(key));
    if (unknown.length > 0) throw new AcmeProblem('malformed', `newOrder does not take ${unknown.join(', ')}`);
    const identifiers = payload.identifiers;
    if (!Array.isArray(identifiers) || identifiers.length === 0) throw new AcmeProblem('malformed', 'newOrder needs a non-empty identifiers array');
    const foreign = identifiers.filter((identifier) => !isObject(identifier) || identifier.type !== TN_AUTH_LIST_TYPE);
    if (foreign.length > 0) {
      // RFC 8555 §6.7.1: one subproblem per refused identifier.
      throw new AcmeProblem('unsupportedIdentifier', `this STI-CA issues ${TN_AUTH_LIST_TYPE} certificates only`, {
        subproblems: foreign.map((identifier) => ({
          type: 'urn:ietf:params:acme:error:unsupportedIdentifier',
          detail: `identifier type ${JSON.stringify(isObject(identifier) ? identifier.type : identifier)} is not supported`,
          ...(isObject(identifier) && typeof identifier.type === 'string' && typeof identifier.value === 'string'
            ? { identifier: { type: identifier.type, value: identifier.value } }
            : {}),
        })),
      });
    }
    if (identifiers.length !== 1) throw new AcmeProblem('rejectedIdentifier', 'a SHAKEN certificate order carries exactly one TNAuthList identifier');
    const identifier = identifiers[0] as Record<string, unknown>;
    const der = identifierDer(identifier.value, this.policy);
    let spc: string | undefined;
    try {
      spc = singleSpc(decodeTnAuthList(der));
    } catch (error) {
      if (isShakenError(error)) throw new AcmeProblem('rejectedIdentifier', `TNAuthList is invalid: ${error.message}`);
      throw error;
    }
    // ATIS-1000080 v005 §6.4.1: a provider certificate's TNAuthList is exactly one SPC.
    if (spc === undefined) throw new AcmeProblem('rejectedIdentifier', 'this STI-CA issues end-entity certificates, whose TNAuthList holds exactly one SPC');

    const now = this.clock();
    const notBefore = readDate(payload.notBefore, 'notBefore');
    const notAfter = readDate(payload.notAfter, 'notAfter');
    if (notBefore && notBefore.getTime() < now.getTime() - DAY_MS) throw new AcmeProblem('malformed', 'notBefore may not be more than a day in the past');
    if (notAfter && notAfter.getTime() <= (notBefore ?? now).getTime()) throw new AcmeProblem('malformed', 'notAfter must be after notBefore');
    if (notAfter && notAfter.getTime() - (notBefore ?? now).getTime() > this.policy.maxValidityDays * DAY_MS) {
      throw new AcmeProblem('malformed', `certificates are valid for at most ${this.policy.maxValidityDays} days`);
    }

    const orderId = randomUUID();
    const expires = new Date(now.getTime() + ORDER_LIFETIME_MS).toISOString();
    const tnAuthList = base64UrlEncode(der);
    const wireIdentifier = { type: TN_AUTH_LIST_TYPE, value: identifier.value as string } as const;
    const authz: AuthorizationRecord = {
      id: randomUUID(),
      orderId,
      accountId: account.id,
      identifier: wireIdentifier,
      tnAuthList,
      expires,
      challenge: { id: randomUUID(), token: randomBytes(32).toString('base64url'), status: 'pending', attempts: 0 },
    };
    const order: OrderRecord = {
      id: orderId,
      accountId: account.id,
      createdAt: now.toISOString(),
      expires,
      identifiers: [wireIdentifier],
      tnAuthList,
      spc,
      ...(notBefore ? { notBefore: notBefore.toISOString() } : {}),
      ...(notAfter ? { notAfter: notAfter.toISOString() } : {}),
      authorizationIds: [authz.id],
      finalization: 'none',
    };
    await this.store.update((state) => {
      state.orders.push(order);
      state.authorizations.push(authz);
    });
    return order;
  }

  /** The order, if it exists and belongs to the requesting account. */
  ownedOrder(request: VerifiedRequest, orderId: string): OrderRecord {
    const order = this.store.state.orders.find((candidate) => candidate.id === orderId);
    if (!order) throw notFound('order');
    if (order.accountId !== request.account?.id) throw new AcmeProblem('unauthorized', 'this order belongs to another account');
    return order;
  }

  ownedAuthorization(request: VerifiedRequest, authzId: string): AuthorizationRecord {
    const authz = this.store.state.authorizations.find((candidate) => candidate.id === authzId);
    if (!authz) throw notFound('authorization');
    if (authz.accountId !== request.account?.id) throw new AcmeProblem('unauthorized', 'this authorization belongs to another account');
    return authz;
  }

  authorizationsOf(order: OrderRecord): AuthorizationRecord[] {
    return order.authorizationIds
      .map((id) => this.store.state.authorizations.find((authz) => authz.id === id))
      .filter((authz): authz is AuthorizationRecord => authz !== undefined);
  }

  ordersOf(accountId: string): OrderRecord[] {
    return this.store.state.orders.filter((order) => order.accountId === accountId);
  }

  /** POST to an authorization: fetch, or deactivate (RFC 8555 §7.5.2). */
  async updateAuthorization(request: VerifiedRequest, authzId: string): Promise<AuthorizationRecord> {
    const authz = this.ownedAuthorization(request, authzId);
    if (request.payload === undefined) return authz;
    const payload = requireObjectPayload(request, 'authorization update');
    if (Object.keys(payload).length !== 1 || payload.status !== 'deactivated') {
      throw new AcmeProblem('malformed', 'an authorization can only be updated to {"status":"deactivated"}');
    }
    const status = authorizationStatus(authz, this.clock());
    if (status !== 'pending' && status !== 'valid') throw new AcmeProblem('malformed', `a ${status} authorization cannot be deactivated`);
    return this.store.update((state) => {
      const record = state.authorizations.find((candidate) => candidate.id === authzId);
      if (!record) throw notFound('authorization');
      record.deactivated = true;
      return record;
    });
  }
}
