import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { base64UrlDecode, es256Verify, type EcPublicJwk } from '@app/shaken';
import type { SandboxUrls } from '../../common/sandbox-urls.js';
import type { AccountRecord, EabKeyRecord } from '../../state/records.js';
import type { SandboxStore } from '../../state/sandbox-store.js';
import { AcmeProblem } from './acme-problem.js';
import { importJwk, parseFlattenedJws, readJwk, requireObjectPayload, thumbprintOf, type VerifiedRequest } from './acme-request.js';

const HMAC_HASH: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJwk(a: EcPublicJwk, b: EcPublicJwk): boolean {
  return a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y;
}

function decodeJsonPart(part: string, what: string): unknown {
  const bytes = base64UrlDecode(part);
  if (bytes === undefined) throw new AcmeProblem('malformed', `${what} is not base64url`);
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new AcmeProblem('malformed', `${what} is not JSON`);
  }
}

/** RFC 8555 §7.3: mailto: contacts only, as most CAs accept. */
function readContacts(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
    throw new AcmeProblem('malformed', 'contact must be an array of URLs');
  }
  for (const contact of value as string[]) {
    if (!contact.startsWith('mailto:')) throw new AcmeProblem('unsupportedContact', `contact ${contact} is not a mailto: URL`);
    if (!/^mailto:[^@\s,?]+@[^@\s,?]+\.[^@\s,?]+$/.test(contact)) throw new AcmeProblem('invalidContact', `contact ${contact} is not a valid email address`);
  }
  return value as string[];
}

/**
 * ACME accounts (RFC 8555 §7.3): creation (optionally bound to an External Account Binding key),
 * lookup by key, update, deactivation and key rollover.
 */
export class AcmeAccounts {
  constructor(
    private readonly store: SandboxStore,
    private readonly urls: SandboxUrls,
    private readonly requireEab: boolean,
    private readonly clock: () => Date,
  ) {}

  /** newAccount: returns the account and whether it was created by this request. */
  async newAccount(request: VerifiedRequest): Promise<{ account: AccountRecord; created: boolean }> {
    const payload = requireObjectPayload(request, 'newAccount');
    const jwk = request.jwk;
    if (!jwk) throw new AcmeProblem('malformed', 'newAccount must be signed with "jwk"');
    const thumbprint = await thumbprintOf(jwk);
    const existing = this.store.state.accounts.find((account) => account.thumbprint === thumbprint);
    // RFC 8555 §7.3.1: a known key gets its account back (200), whatever else the payload says.
    if (existing) return { account: existing, created: false };
    if (payload.onlyReturnExisting === true) throw new AcmeProblem('accountDoesNotExist', 'no account exists for this key');
    const contact = readContacts(payload.contact);
    if (payload.termsOfServiceAgreed !== undefined && typeof payload.termsOfServiceAgreed !== 'boolean') {
      throw new AcmeProblem('malformed', 'termsOfServiceAgreed must be a boolean');
    }
    let eab: EabKeyRecord | undefined;
    if (payload.externalAccountBinding !== undefined) {
      eab = this.checkExternalAccountBinding(payload.externalAccountBinding, jwk);
    } else if (this.requireEab) {
      throw new AcmeProblem('externalAccountRequired', 'this CA requires an External Account Binding (ask the sandbox admin for a kid and HMAC key)');
    }
    const account: AccountRecord = {
      id: randomUUID(),
      status: 'valid',
      jwk,
      thumbprint,
      contact,
      termsOfServiceAgreed: payload.termsOfServiceAgreed === true,
      createdAt: this.clock().toISOString(),
      ...(eab ? { eabKid: eab.kid } : {}),
    };
    await this.store.update((state) => {
      state.accounts.push(account);
      if (eab) {
        const key = state.eabKeys.find((candidate) => candidate.kid === eab.kid);
        if (key) key.accountId = account.id;
      }
    });
    return { account, created: true };
  }

  /** RFC 8555 §7.3.4: the binding is a MAC over the account key under a CA-issued key. */
  private checkExternalAccountBinding(value: unknown, jwk: EcPublicJwk): EabKeyRecord {
    const binding = parseFlattenedJws(value, 'application/jose+json');
    const header = decodeJsonPart(binding.protected, 'externalAccountBinding protected header');
    if (!isObject(header)) throw new AcmeProblem('malformed', 'externalAccountBinding header must be an object');
    const hash = typeof header.alg === 'string' ? HMAC_HASH[header.alg] : undefined;
    if (!hash) throw new AcmeProblem('badSignatureAlgorithm', 'externalAccountBinding must use HS256, HS384 or HS512');
    if (header.nonce !== undefined) throw new AcmeProblem('malformed', 'externalAccountBinding must not carry a nonce');
    if (header.url !== this.urls.acme('new-account')) throw new AcmeProblem('unauthorized', 'externalAccountBinding url must be the newAccount URL');
    if (typeof header.kid !== 'string') throw new AcmeProblem('malformed', 'externalAccountBinding needs a kid');
    const key = this.store.state.eabKeys.find((candidate) => candidate.kid === header.kid);
    if (!key) throw new AcmeProblem('unauthorized', `unknown external account key ${header.kid}`);
    if (key.accountId) throw new AcmeProblem('unauthorized', `external account key ${key.kid} is already bound to an account`);
    const expected = createHmac(hash, Buffer.from(key.hmacKey, 'base64url')).update(`${binding.protected}.${binding.payload}`, 'ascii').digest();
    const actual = base64UrlDecode(binding.signature);
    if (actual === undefined || actual.byteLength !== expected.byteLength || !timingSafeEqual(actual, expected)) {
      throw new AcmeProblem('unauthorized', 'externalAccountBinding MAC does not verify');
    }
    const boundKey = readJwk(decodeJsonPart(binding.payload, 'externalAccountBinding payload'));
    if (!sameJwk(boundKey, jwk)) throw new AcmeProblem('unauthorized', 'externalAccountBinding binds a different key');
    return key;
  }

  /** POST to the account URL: fetch, update contacts, or deactivate (RFC 8555 §7.3.2, §7.3.6). */
  async update(request: VerifiedRequest, accountId: string): Promise<AccountRecord> {
    const account = request.account;
    if (!account || account.id !== accountId) throw new AcmeProblem('unauthorized', 'the JWS kid is not this account');
    if (request.payload === undefined) return account;
    const payload = requireObjectPayload(request, 'account update');
    const unknown = Object.keys(payload).filter((key) => !['contact', 'status', 'termsOfServiceAgreed'].includes(key));
    if (unknown.length > 0) throw new AcmeProblem('malformed', `account update cannot change ${unknown.join(', ')}`);
    if (payload.status !== undefined && payload.status !== 'deactivated') {
      throw new AcmeProblem('malformed', 'the only status a client may set is "deactivated"');
    }
    const contact = payload.contact === undefined ? undefined : readContacts(payload.contact);
    return this.store.update((state) => {
      const record = state.accounts.find((candidate) => candidate.id === accountId);
      if (!record) throw new AcmeProblem('accountDoesNotExist', 'account vanished');
      if (contact) record.contact = contact;
      if (payload.termsOfServiceAgreed === true) record.termsOfServiceAgreed = true;
      if (payload.status === 'deactivated') record.status = 'deactivated';
      return record;
    });
  }

  /**
   * RFC 8555 §7.3.5 key rollover: the outer JWS is signed by the old key (kid), the inner one by
   * the new key (jwk) over {account, oldKey}.
   */
  async changeKey(request: VerifiedRequest, keyChangeUrl: string): Promise<AccountRecord> {
    const account = request.account;
    if (!account) throw new AcmeProblem('malformed', 'keyChange must be signed with the account key ("kid")');
    const inner = parseFlattenedJws(request.payload, 'application/jose+json');
    const header = decodeJsonPart(inner.protected, 'inner keyChange header');
    if (!isObject(header) || header.alg !== 'ES256') throw new AcmeProblem('badSignatureAlgorithm', 'inner keyChange JWS must be ES256');
    if (header.url !== keyChangeUrl) throw new AcmeProblem('malformed', 'inner keyChange url must equal the outer url');
    if (header.nonce !== undefined || header.kid !== undefined) {
      throw new AcmeProblem('malformed', 'inner keyChange JWS carries "jwk" only, no nonce and no kid');
    }
    const newJwk = readJwk(header.jwk);
    const newKey = await importJwk(newJwk);
    const signature = base64UrlDecode(inner.signature);
    if (signature === undefined || !(await es256Verify(newKey, Buffer.from(`${inner.protected}.${inner.payload}`, 'ascii'), signature))) {
      throw new AcmeProblem('malformed', 'inner keyChange signature does not verify with the new key');
    }
    const body = decodeJsonPart(inner.payload, 'inner keyChange payload');
    if (!isObject(body) || body.account !== this.urls.acme(`account/${account.id}`)) {
      throw new AcmeProblem('malformed', 'inner keyChange payload must name this account');
    }
    if (!sameJwk(readJwk(body.oldKey), account.jwk)) throw new AcmeProblem('malformed', 'inner keyChange oldKey is not the current account key');
    const thumbprint = await thumbprintOf(newJwk);
    const owner = this.store.state.accounts.find((candidate) => candidate.thumbprint === thumbprint);
    if (owner) {
      // RFC 8555 §7.3.5: a key already in use answers 409 with that account's URL.
      throw new AcmeProblem('malformed', 'the new key already belongs to an account', {
        status: 409,
        headers: { location: this.urls.acme(`account/${owner.id}`) },
      });
    }
    return this.store.update((state) => {
      const record = state.accounts.find((candidate) => candidate.id === account.id);
      if (!record) throw new AcmeProblem('accountDoesNotExist', 'account vanished');
      record.jwk = newJwk;
      record.thumbprint = thumbprint;
      return record;
    });
  }

  /** A new External Account Binding key pair for a subscriber (admin). */
  async createEabKey(): Promise<EabKeyRecord> {
    const key: EabKeyRecord = {
      kid: `kid-${randomBytes(9).toString('base64url')}`,
      hmacKey: randomBytes(32).toString('base64url'),
      createdAt: this.clock().toISOString(),
    };
    await this.store.update((state) => state.eabKeys.push(key));
    return key;
  }
}
