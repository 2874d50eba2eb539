import { AcmeProtocolError, type AcmeProblem } from './errors.js';

/**
 * ACME resource objects (RFC 8555 §7.1) and the checks that turn server JSON into them. Only the
 * members this client relies on are checked; unknown members are kept so nothing a CA adds is lost.
 */

export interface AcmeIdentifier {
  type: string;
  value: string;
}

export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  newAuthz?: string;
  revokeCert?: string;
  keyChange?: string;
  meta?: {
    termsOfService?: string;
    website?: string;
    caaIdentities?: string[];
    externalAccountRequired?: boolean;
    [member: string]: unknown;
  };
}

export type AcmeAccountStatus = 'valid' | 'deactivated' | 'revoked';

export interface AcmeAccount {
  /** Account URL (the `kid` of later requests), from the Location header. */
  url: string;
  status: AcmeAccountStatus;
  contact?: string[];
  termsOfServiceAgreed?: boolean;
  orders?: string;
  [member: string]: unknown;
}

export type AcmeOrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

export interface AcmeOrder {
  /** Order URL, from the Location header of newOrder. */
  url: string;
  status: AcmeOrderStatus;
  expires?: string;
  identifiers: AcmeIdentifier[];
  notBefore?: string;
  notAfter?: string;
  error?: AcmeProblem;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  /** STI-CR URL of a CA that hosts the repository itself (SHAKEN extension member). */
  x5u?: string;
  /** `x5u`, else the `X-Shaken-Certificate-Location` header of the order response. */
  stiCrUrl?: string;
  [member: string]: unknown;
}

export type AcmeAuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';

export interface AcmeAuthorization {
  url: string;
  identifier: AcmeIdentifier;
  status: AcmeAuthorizationStatus;
  expires?: string;
  challenges: AcmeChallenge[];
  wildcard?: boolean;
  [member: string]: unknown;
}

export type AcmeChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';

export interface AcmeChallenge {
  type: string;
  url: string;
  status: AcmeChallengeStatus;
  validated?: string;
  error?: AcmeProblem;
  token?: string;
  /** RFC 9447 §3: `atc` for the SHAKEN authority token. */
  'tkauth-type'?: string;
  'token-authority'?: string;
  [member: string]: unknown;
}

type Json = Record<string, unknown>;

const ORDER_STATUSES: readonly string[] = ['pending', 'ready', 'processing', 'valid', 'invalid'];
const AUTHZ_STATUSES: readonly string[] = ['pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked'];
const CHALLENGE_STATUSES: readonly string[] = ['pending', 'processing', 'valid', 'invalid'];
const ACCOUNT_STATUSES: readonly string[] = ['valid', 'deactivated', 'revoked'];

export function isJsonObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(what: string, from: string, reason: string): never {
  throw new AcmeProtocolError(`ACME ${what} from ${from} is malformed: ${reason}`);
}

function requireUrl(obj: Json, member: string, what: string, from: string): string {
  const value = obj[member];
  if (typeof value !== 'string' || !URL.canParse(value)) fail(what, from, `"${member}" is not a URL`);
  return value;
}

function optionalUrl(obj: Json, member: string, what: string, from: string): string | undefined {
  return obj[member] === undefined ? undefined : requireUrl(obj, member, what, from);
}

function requireStatus<T extends string>(obj: Json, allowed: readonly string[], what: string, from: string): T {
  const status = obj.status;
  if (typeof status !== 'string' || !allowed.includes(status)) fail(what, from, `unknown status ${JSON.stringify(status)}`);
  return status as T;
}

function parseIdentifier(value: unknown, what: string, from: string): AcmeIdentifier {
  if (!isJsonObject(value) || typeof value.type !== 'string' || typeof value.value !== 'string') {
    fail(what, from, 'identifier needs string "type" and "value"');
  }
  return { type: value.type, value: value.value };
}

export function parseProblem(value: unknown): AcmeProblem | undefined {
  if (!isJsonObject(value)) return undefined;
  // RFC 7807 §4.2: a problem without "type" means "about:blank".
  const problem: AcmeProblem = { type: typeof value.type === 'string' ? value.type : 'about:blank' };
  if (typeof value.detail === 'string') problem.detail = value.detail;
  if (typeof value.status === 'number') problem.status = value.status;
  if (typeof value.instance === 'string') problem.instance = value.instance;
  if (isJsonObject(value.identifier) && typeof value.identifier.type === 'string' && typeof value.identifier.value === 'string') {
    problem.identifier = { type: value.identifier.type, value: value.identifier.value };
  }
  if (Array.isArray(value.subproblems)) {
    problem.subproblems = value.subproblems.map(parseProblem).filter((p): p is AcmeProblem => p !== undefined);
  }
  return problem;
}

export function parseDirectory(body: unknown, from: string): AcmeDirectory {
  if (!isJsonObject(body)) fail('directory', from, 'not a JSON object');
  const directory: AcmeDirectory = {
    newNonce: requireUrl(body, 'newNonce', 'directory', from),
    newAccount: requireUrl(body, 'newAccount', 'directory', from),
    newOrder: requireUrl(body, 'newOrder', 'directory', from),
  };
  for (const member of ['newAuthz', 'revokeCert', 'keyChange'] as const) {
    const url = optionalUrl(body, member, 'directory', from);
    if (url !== undefined) directory[member] = url;
  }
  if (isJsonObject(body.meta)) directory.meta = body.meta;
  return directory;
}

export function parseAccount(body: unknown, url: string, from: string): AcmeAccount {
  if (!isJsonObject(body)) fail('account', from, 'not a JSON object');
  return { ...body, url, status: requireStatus<AcmeAccountStatus>(body, ACCOUNT_STATUSES, 'account', from) };
}

export function parseOrder(body: unknown, url: string, from: string, certificateLocationHeader: string | null): AcmeOrder {
  if (!isJsonObject(body)) fail('order', from, 'not a JSON object');
  const status = requireStatus<AcmeOrderStatus>(body, ORDER_STATUSES, 'order', from);
  if (!Array.isArray(body.identifiers) || body.identifiers.length === 0) fail('order', from, '"identifiers" is not a non-empty array');
  if (!Array.isArray(body.authorizations) || !body.authorizations.every((a) => typeof a === 'string' && URL.canParse(a))) {
    fail('order', from, '"authorizations" is not an array of URLs');
  }
  const order: AcmeOrder = {
    ...body,
    url,
    status,
    identifiers: body.identifiers.map((i) => parseIdentifier(i, 'order', from)),
    authorizations: body.authorizations as string[],
    finalize: requireUrl(body, 'finalize', 'order', from),
  };
  const certificate = optionalUrl(body, 'certificate', 'order', from);
  if (certificate !== undefined) order.certificate = certificate;
  // RFC 8555 §7.1.3: "certificate" is present exactly when the order is valid.
  if (status === 'valid' && certificate === undefined) fail('order', from, 'status "valid" without "certificate"');
  const error = parseProblem(body.error);
  if (error) order.error = error;
  else delete order.error;
  const x5u = optionalUrl(body, 'x5u', 'order', from);
  const stiCrUrl = x5u ?? (certificateLocationHeader && URL.canParse(certificateLocationHeader) ? certificateLocationHeader : undefined);
  if (stiCrUrl !== undefined) order.stiCrUrl = stiCrUrl;
  return order;
}

export function parseChallenge(body: unknown, from: string): AcmeChallenge {
  if (!isJsonObject(body)) fail('challenge', from, 'not a JSON object');
  if (typeof body.type !== 'string') fail('challenge', from, '"type" is not a string');
  const challenge: AcmeChallenge = {
    ...body,
    type: body.type,
    url: requireUrl(body, 'url', 'challenge', from),
    status: requireStatus<AcmeChallengeStatus>(body, CHALLENGE_STATUSES, 'challenge', from),
  };
  const error = parseProblem(body.error);
  if (error) challenge.error = error;
  else delete challenge.error;
  return challenge;
}

export function parseAuthorization(body: unknown, url: string, from: string): AcmeAuthorization {
  if (!isJsonObject(body)) fail('authorization', from, 'not a JSON object');
  if (!Array.isArray(body.challenges)) fail('authorization', from, '"challenges" is not an array');
  return {
    ...body,
    url,
    identifier: parseIdentifier(body.identifier, 'authorization', from),
    status: requireStatus<AcmeAuthorizationStatus>(body, AUTHZ_STATUSES, 'authorization', from),
    challenges: body.challenges.map((c) => parseChallenge(c, from)),
  };
}
