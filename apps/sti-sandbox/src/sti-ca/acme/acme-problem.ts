import type { ProblemRecord } from '../../state/records.js';

/**
 * An RFC 8555 §6.7 error: rendered as an `application/problem+json` document whose `type` is in
 * the `urn:ietf:params:acme:error:` namespace, with the HTTP status RFC 8555 and the deployed CAs
 * use for it.
 */
export type AcmeErrorType =
  | 'accountDoesNotExist'
  | 'alreadyRevoked'
  | 'badCSR'
  | 'badNonce'
  | 'badPublicKey'
  | 'badRevocationReason'
  | 'badSignatureAlgorithm'
  | 'externalAccountRequired'
  | 'incorrectResponse'
  | 'invalidContact'
  | 'malformed'
  | 'orderNotReady'
  | 'rateLimited'
  | 'rejectedIdentifier'
  | 'serverInternal'
  | 'unauthorized'
  | 'unsupportedContact'
  | 'unsupportedIdentifier';

const DEFAULT_STATUS: Record<AcmeErrorType, number> = {
  accountDoesNotExist: 400,
  alreadyRevoked: 400,
  badCSR: 400,
  badNonce: 400,
  badPublicKey: 400,
  badRevocationReason: 400,
  badSignatureAlgorithm: 400,
  externalAccountRequired: 403,
  incorrectResponse: 403,
  invalidContact: 400,
  malformed: 400,
  orderNotReady: 403,
  rateLimited: 429,
  serverInternal: 500,
  unauthorized: 403,
  unsupportedContact: 400,
  unsupportedIdentifier: 400,
  rejectedIdentifier: 400,
};

export const ACME_ERROR_NS = 'urn:ietf:params:acme:error:';

export class AcmeProblem extends Error {
  override readonly name = 'AcmeProblem';
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(
    readonly type: AcmeErrorType,
    readonly detail: string,
    options: { status?: number; headers?: Record<string, string>; subproblems?: ProblemRecord[]; extra?: Record<string, unknown> } = {},
  ) {
    super(`${type}: ${detail}`);
    this.status = options.status ?? DEFAULT_STATUS[type];
    this.headers = options.headers ?? {};
    this.extra = options.subproblems ? { ...options.extra, subproblems: options.subproblems } : { ...options.extra };
  }

  toDocument(): ProblemRecord & Record<string, unknown> {
    return { type: `${ACME_ERROR_NS}${this.type}`, detail: this.detail, status: this.status, ...this.extra };
  }

  /** The form stored in a challenge's or order's `error` member. */
  toRecord(): ProblemRecord {
    return { type: `${ACME_ERROR_NS}${this.type}`, detail: this.detail, status: this.status };
  }
}

export function notFound(what: string): AcmeProblem {
  return new AcmeProblem('malformed', `no such ${what}`, { status: 404 });
}
