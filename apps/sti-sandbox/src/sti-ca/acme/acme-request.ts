import { base64UrlDecode, es256Verify, importPublicJwk, isShakenError, jwkThumbprint, type CryptoKey, type EcPublicJwk } from '@app/shaken';
import type { FaultState } from '../../faults/fault-state.js';
import type { AccountRecord } from '../../state/records.js';
import type { SandboxStore } from '../../state/sandbox-store.js';
import type { SandboxUrls } from '../../common/sandbox-urls.js';
import { AcmeProblem } from './acme-problem.js';
import type { NonceService } from './nonces.js';

/** RFC 8555 §6.2 flattened JWS JSON serialization. */
export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

/** A request whose JWS passed every RFC 8555 §6 check. */
export interface VerifiedRequest {
  header: Record<string, unknown>;
  /** Parsed payload; `undefined` for POST-as-GET (empty payload, RFC 8555 §6.3). */
  payload: unknown;
  /** Set when the JWS was signed with `kid`. */
  account?: AccountRecord;
  /** Set when the JWS carried `jwk`. */
  jwk?: EcPublicJwk;
  publicKey: CryptoKey;
}

export type KeyMode = 'kid' | 'jwk' | 'either';

const JOSE_JSON = 'application/jose+json';

function decodeJson(part: string, what: string): unknown {
  const bytes = base64UrlDecode(part);
  if (bytes === undefined) throw new AcmeProblem('malformed', `JWS ${what} is not base64url`);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new AcmeProblem('malformed', `JWS ${what} is not UTF-8 JSON`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a flattened JWS body; RFC 8555 §6.2 allows exactly protected, payload and signature. */
export function parseFlattenedJws(body: unknown, contentType: string | undefined): FlattenedJws {
  // RFC 8555 §6.2: requests carry Content-Type application/jose+json; anything else is 415.
  if ((contentType ?? '').split(';')[0]?.trim().toLowerCase() !== JOSE_JSON) {
    throw new AcmeProblem('malformed', `Content-Type must be ${JOSE_JSON}`, { status: 415 });
  }
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new AcmeProblem('malformed', 'request body is not JSON');
    }
  }
  if (!isObject(parsed)) throw new AcmeProblem('malformed', 'request body must be a flattened JWS object');
  const keys = Object.keys(parsed).sort().join(',');
  if (keys !== 'payload,protected,signature') {
    // RFC 8555 §6.2: no unprotected header, no general serialization with several signatures.
    throw new AcmeProblem('malformed', 'JWS must be flattened JSON with exactly "protected", "payload" and "signature"');
  }
  const { protected: protectedPart, payload, signature } = parsed;
  if (typeof protectedPart !== 'string' || typeof payload !== 'string' || typeof signature !== 'string') {
    throw new AcmeProblem('malformed', 'JWS members must be strings');
  }
  return { protected: protectedPart, payload, signature };
}

/** RFC 7518 §6.2.1 public P-256 JWK with nothing but the defining members. */
export function readJwk(value: unknown): EcPublicJwk {
  if (!isObject(value) || value.kty !== 'EC') throw new AcmeProblem('badPublicKey', 'account keys must be EC P-256 JWKs');
  if (value.crv !== 'P-256') throw new AcmeProblem('badPublicKey', 'account keys must be on curve P-256');
  if (typeof value.x !== 'string' || typeof value.y !== 'string' || 'd' in value) {
    throw new AcmeProblem('badPublicKey', 'JWK must be a public EC key with x and y');
  }
  return { kty: 'EC', crv: 'P-256', x: value.x, y: value.y };
}

export async function importJwk(jwk: EcPublicJwk): Promise<CryptoKey> {
  try {
    return await importPublicJwk(jwk);
  } catch (error) {
    if (isShakenError(error)) throw new AcmeProblem('badPublicKey', error.message);
    throw error;
  }
}

/**
 * RFC 8555 §6.2–§6.5 request authentication: flattened JWS, ES256 only, `url` equal to the
 * request URL, a fresh nonce, `jwk` or `kid` as the resource demands, a valid signature by that
 * key, and (for `kid`) an existing, valid account.
 */
export class AcmeRequestVerifier {
  constructor(
    private readonly nonces: NonceService,
    private readonly store: SandboxStore,
    private readonly urls: SandboxUrls,
    private readonly faults: FaultState,
  ) {}

  async verify(body: unknown, contentType: string | undefined, requestUrl: string, mode: KeyMode): Promise<VerifiedRequest> {
    const jws = parseFlattenedJws(body, contentType);
    const header = decodeJson(jws.protected, 'protected header');
    if (!isObject(header)) throw new AcmeProblem('malformed', 'JWS protected header must be an object');
    // RFC 8555 §6.2: the CA chooses the algorithms; the sandbox, like SHAKEN STI-CAs, takes ES256.
    if (header.alg !== 'ES256') {
      throw new AcmeProblem('badSignatureAlgorithm', `JWS alg ${JSON.stringify(header.alg)} is not supported`, { extra: { algorithms: ['ES256'] } });
    }
    // RFC 8555 §6.4: the url header must be exactly the URL the request was sent to.
    if (header.url !== requestUrl) throw new AcmeProblem('unauthorized', `JWS url header does not match the request URL ${requestUrl}`);
    if (typeof header.nonce !== 'string' || header.nonce === '') {
      throw new AcmeProblem('badNonce', 'JWS has no anti-replay nonce');
    }
    if (!this.nonces.consume(header.nonce)) throw new AcmeProblem('badNonce', 'JWS nonce is unknown, used or stale');
    if (this.faults.rollBadNonce()) throw new AcmeProblem('badNonce', 'JWS nonce refused (sandbox badNonce fault)');

    const hasJwk = header.jwk !== undefined;
    const hasKid = header.kid !== undefined;
    // RFC 8555 §6.2: "jwk" and "kid" are mutually exclusive; which one depends on the resource.
    if (hasJwk === hasKid) throw new AcmeProblem('malformed', 'JWS must carry exactly one of "jwk" and "kid"');
    if (mode === 'kid' && !hasKid) throw new AcmeProblem('malformed', 'this resource needs a JWS signed with the account key ("kid")');
    if (mode === 'jwk' && !hasJwk) throw new AcmeProblem('malformed', 'this resource needs a JWS carrying the key ("jwk")');

    let account: AccountRecord | undefined;
    let jwk: EcPublicJwk | undefined;
    if (hasKid) {
      account = this.accountForKid(header.kid);
      jwk = account.jwk;
    } else {
      jwk = readJwk(header.jwk);
    }
    const publicKey = await importJwk(jwk);
    const signature = base64UrlDecode(jws.signature);
    const signed = Buffer.from(`${jws.protected}.${jws.payload}`, 'ascii');
    if (signature === undefined || !(await es256Verify(publicKey, signed, signature))) {
      throw new AcmeProblem('malformed', 'JWS signature does not verify');
    }
    const payload = jws.payload === '' ? undefined : decodeJson(jws.payload, 'payload');
    return { header, payload, publicKey, ...(account ? { account } : {}), ...(hasJwk ? { jwk } : {}) };
  }

  private accountForKid(kid: unknown): AccountRecord {
    const prefix = this.urls.acme('account/');
    if (typeof kid !== 'string' || !kid.startsWith(prefix)) {
      throw new AcmeProblem('accountDoesNotExist', 'JWS kid is not an account URL of this server');
    }
    const id = kid.slice(prefix.length);
    const account = this.store.state.accounts.find((candidate) => candidate.id === id);
    if (!account) throw new AcmeProblem('accountDoesNotExist', `no account ${kid}`);
    // RFC 8555 §7.3.6: requests signed by a deactivated account are refused.
    if (account.status !== 'valid') throw new AcmeProblem('unauthorized', `account is ${account.status}`);
    return account;
  }
}

/** RFC 7638 thumbprint of a JWK: how accounts are looked up by key. */
export async function thumbprintOf(jwk: EcPublicJwk): Promise<string> {
  return jwkThumbprint(await importJwk(jwk));
}

export function requirePostAsGet(request: VerifiedRequest, what: string): void {
  // RFC 8555 §6.3: fetching a resource is a POST whose payload is the empty string.
  if (request.payload !== undefined) throw new AcmeProblem('malformed', `${what} is fetched with POST-as-GET (empty payload)`);
}

export function requireObjectPayload(request: VerifiedRequest, what: string): Record<string, unknown> {
  if (!isObject(request.payload)) throw new AcmeProblem('malformed', `${what} needs a JSON object payload`);
  return request.payload;
}
