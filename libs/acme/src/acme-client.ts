import { base64UrlEncode } from '@app/shaken';
import { AcmeRequester, type AcmeClientEvent, type AcmeSigner } from './acme-requester.js';
import { splitPemChain, type AcmeCertificateChain } from './certificate-chain.js';
import { AcmeErrorCode, AcmeProtocolError, AcmeStatusError, AcmeUsageError } from './errors.js';
import { accountKeyFingerprint, type FingerprintForm } from './fingerprint.js';
import { linkTargets } from './headers.js';
import type { AcmeTransportOptions, HttpResult } from './http.js';
import { toWireIdentifier, type AcmeIdentifierInput, type TnAuthListEncoding } from './identifiers.js';
import {
  assertP256KeyPair,
  exportPublicJwk,
  signEs256,
  signExternalAccountBinding,
  type CryptoKeyPair,
  type EcPublicJwk,
  type ExternalAccountBinding,
  type SubtleCrypto,
} from './jws.js';
import { DEFAULT_POLLING, pollUntilSettled, realSleep, type PollSnapshot, type PollingOptions, type Sleep } from './polling.js';
import {
  isJsonObject,
  parseAccount,
  parseAuthorization,
  parseChallenge,
  parseOrder,
  type AcmeAccount,
  type AcmeAuthorization,
  type AcmeChallenge,
  type AcmeDirectory,
  type AcmeOrder,
} from './resources.js';
import { authorizeTkauthOrder, completeTkauthChallenge, type AuthorizeTkauthOrderOptions, type CompleteTkauthOptions } from './tkauth.js';

export type { AcmeClientEvent } from './acme-requester.js';

export interface AcmeClientOptions {
  directoryUrl: string;
  /** The ACME account key (WebCrypto ECDSA P-256). Never logged, never put in errors. */
  accountKey: CryptoKeyPair;
  /** Account URL (`kid`) from an earlier newAccount; otherwise set by createAccount/findAccount. */
  accountUrl?: string;
  /** Per-CA: how TNAuthList identifier values are written. Default RFC 9448 base64url. */
  identifierEncoding?: TnAuthListEncoding;
  /** Per-CA: what the SPC token's `atc.fingerprint` holds. Default SPKI. */
  fingerprintForm?: FingerprintForm;
  transport?: AcmeTransportOptions;
  /** Used to read HTTP-date Retry-After values. Default: system clock. */
  clock?: () => Date;
  /** Used between polls. Default: setTimeout. */
  sleep?: Sleep;
  polling?: Partial<PollingOptions>;
  /** Retries of one request after `badNonce` (RFC 8555 §6.5). Default 5. */
  maxBadNonceRetries?: number;
  /** WebCrypto implementation holding the account key. Default: Node's. */
  subtle?: SubtleCrypto;
  userAgent?: string;
  /** Observability hook; receives URLs and statuses only, never payloads. */
  onEvent?: (event: AcmeClientEvent) => void;
}

export interface NewAccountOptions {
  contact?: string[];
  termsOfServiceAgreed?: boolean;
  externalAccountBinding?: ExternalAccountBinding;
}

export interface NewOrderOptions {
  identifiers: AcmeIdentifierInput[];
  notBefore?: Date | string;
  notAfter?: Date | string;
}

/** RFC 5280 §5.3.1 CRLReason values accepted by revokeCert (RFC 8555 §7.6); 7 is unused. */
export const RevocationReason = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export interface RevokeOptions {
  reason?: number;
  /** Sign with the certificate's own key pair (`jwk`) instead of the account (`kid`), RFC 8555 §7.6. */
  certificateKey?: CryptoKeyPair;
}

export interface DownloadOptions {
  /** Also download the chains listed as `rel="alternate"` (not followed further). Default false. */
  includeAlternates?: boolean;
}

export interface AcmeCertificateDownload extends AcmeCertificateChain {
  alternates: AcmeCertificateChain[];
}

const PEM_CHAIN = 'application/pem-certificate-chain';
const STI_CR_HEADER = 'x-shaken-certificate-location';
const MAX_ALTERNATES = 10;
const MAX_ORDER_LIST_PAGES = 20;

/**
 * RFC 8555 ACME client with the SHAKEN extensions (RFC 9447 tkauth-01, RFC 9448 TNAuthList).
 * One instance speaks for one account on one CA.
 */
export class AcmeClient {
  readonly directoryUrl: string;
  readonly identifierEncoding: TnAuthListEncoding;
  readonly fingerprintForm: FingerprintForm;
  private accountKey: CryptoKeyPair;
  private accountJwk: Promise<EcPublicJwk> | undefined;
  private kid: string | undefined;
  private readonly requester: AcmeRequester;
  private readonly sleep: Sleep;
  private readonly polling: PollingOptions;
  private readonly subtle: SubtleCrypto;

  constructor(options: AcmeClientOptions) {
    if (!URL.canParse(options.directoryUrl)) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `ACME directory URL ${JSON.stringify(options.directoryUrl)} is not a URL`);
    }
    assertP256KeyPair(options.accountKey, 'ACME account key');
    this.directoryUrl = options.directoryUrl;
    this.accountKey = options.accountKey;
    this.kid = options.accountUrl;
    this.identifierEncoding = options.identifierEncoding ?? 'base64url';
    this.fingerprintForm = options.fingerprintForm ?? 'spki';
    this.sleep = options.sleep ?? realSleep;
    this.polling = { ...DEFAULT_POLLING, ...options.polling };
    this.subtle = options.subtle ?? globalThis.crypto.subtle;
    this.requester = new AcmeRequester({
      directoryUrl: options.directoryUrl,
      transport: options.transport ?? {},
      userAgent: options.userAgent ?? 'shaken-clm-acme/0.1',
      clock: options.clock ?? (() => new Date()),
      maxBadNonceRetries: options.maxBadNonceRetries ?? 5,
      subtle: this.subtle,
      onEvent: options.onEvent,
    });
  }

  /** The account URL (`kid`), once known. */
  get accountUrl(): string | undefined {
    return this.kid;
  }

  /** Fetched once and cached (RFC 8555 §7.1.1); a failed fetch is not cached. */
  getDirectory(): Promise<AcmeDirectory> {
    return this.requester.getDirectory();
  }

  /** newAccount (RFC 8555 §7.3); with EAB when the CA requires it (§7.3.4). */
  async createAccount(options: NewAccountOptions = {}): Promise<AcmeAccount> {
    const directory = await this.getDirectory();
    const payload: Record<string, unknown> = {};
    if (options.contact !== undefined) payload.contact = options.contact;
    if (options.termsOfServiceAgreed !== undefined) payload.termsOfServiceAgreed = options.termsOfServiceAgreed;
    if (options.externalAccountBinding) {
      payload.externalAccountBinding = await signExternalAccountBinding(
        options.externalAccountBinding,
        directory.newAccount,
        await this.publicJwk(),
        this.subtle,
      );
    }
    return this.accountRequest(directory.newAccount, payload);
  }

  /** RFC 8555 §7.3.1: look up the account of this key without creating one. */
  async findAccount(): Promise<AcmeAccount> {
    const directory = await this.getDirectory();
    return this.accountRequest(directory.newAccount, { onlyReturnExisting: true });
  }

  /** Current state of the account (POST-as-GET on the account URL). */
  async getAccount(): Promise<AcmeAccount> {
    const url = this.requireAccountUrl();
    const response = await this.requester.post(url, undefined, this.accountSigner());
    return parseAccount(this.requester.json(response, url), url, url);
  }

  /**
   * RFC 8555 §7.3.5 key rollover: the inner JWS (new key, no nonce) proves possession of the new key,
   * the outer (old key, kid) authorizes the change. Afterwards this client signs with the new key.
   * SPC tokens bound to the old key's fingerprint stop matching.
   */
  async rolloverKey(newAccountKey: CryptoKeyPair): Promise<void> {
    assertP256KeyPair(newAccountKey, 'new ACME account key');
    const directory = await this.getDirectory();
    if (!directory.keyChange) throw this.unsupported('keyChange');
    const account = this.requireAccountUrl();
    const oldKey = await this.publicJwk();
    const newJwk = await exportPublicJwk(newAccountKey.publicKey, this.subtle);
    const inner = await signEs256(
      { alg: 'ES256', url: directory.keyChange, jwk: newJwk },
      { account, oldKey },
      newAccountKey.privateKey,
      this.subtle,
    );
    await this.requester.post(directory.keyChange, inner, this.accountSigner());
    this.accountKey = newAccountKey;
    this.accountJwk = Promise.resolve(newJwk);
  }

  /** The SPC-token fingerprint of the current account key, in this CA's form unless given. */
  accountKeyFingerprint(form: FingerprintForm = this.fingerprintForm): Promise<string> {
    return accountKeyFingerprint(this.accountKey.publicKey, form, this.subtle);
  }

  /**
   * RFC 8555 §7.1.2.1: the URLs of this account's orders, following `Link: rel="next"` pages (at
   * most MAX_ORDER_LIST_PAGES). Lets a client that may have crashed between sending newOrder and
   * recording the answer find the order it created instead of creating a second one. Servers may
   * list only pending orders (the RFC allows it), which is exactly what such a client looks for.
   */
  async listOrders(): Promise<string[]> {
    const account = await this.getAccount();
    if (typeof account.orders !== 'string' || !URL.canParse(account.orders)) throw this.unsupported('orders list');
    const urls: string[] = [];
    let next: string | undefined = account.orders;
    for (let page = 0; next !== undefined && page < MAX_ORDER_LIST_PAGES; page++) {
      const url: string = next;
      const response = await this.requester.post(url, undefined, this.accountSigner());
      const body = this.requester.json(response, url);
      if (!isJsonObject(body) || !Array.isArray(body.orders) || !body.orders.every((o) => typeof o === 'string' && URL.canParse(o))) {
        throw new AcmeProtocolError(`ACME orders list from ${url} is malformed: "orders" is not an array of URLs`);
      }
      urls.push(...(body.orders as string[]));
      next = linkTargets(response.headers.get('link'), 'next', url)[0];
    }
    return urls;
  }

  /** newOrder (RFC 8555 §7.4); TNAuthList identifiers given as DER are encoded per CA setting. */
  async createOrder(options: NewOrderOptions): Promise<AcmeOrder> {
    if (!Array.isArray(options.identifiers) || options.identifiers.length === 0) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'newOrder needs at least one identifier');
    }
    const directory = await this.getDirectory();
    const payload: Record<string, unknown> = {
      identifiers: options.identifiers.map((identifier) => toWireIdentifier(identifier, this.identifierEncoding)),
    };
    if (options.notBefore !== undefined) payload.notBefore = toRfc3339(options.notBefore, 'notBefore');
    if (options.notAfter !== undefined) payload.notAfter = toRfc3339(options.notAfter, 'notAfter');
    const response = await this.requester.post(directory.newOrder, payload, this.accountSigner());
    const url = this.requester.location(response, directory.newOrder, 'order');
    return parseOrder(this.requester.json(response, directory.newOrder), url, directory.newOrder, response.headers.get(STI_CR_HEADER));
  }

  async getOrder(url: string): Promise<AcmeOrder> {
    return (await this.fetchOrder(url)).value;
  }

  async getAuthorization(url: string): Promise<AcmeAuthorization> {
    return (await this.fetchAuthorization(url)).value;
  }

  async getChallenge(url: string): Promise<AcmeChallenge> {
    return (await this.fetchChallenge(url)).value;
  }

  /**
   * RFC 8555 §7.5.1: tell the server the challenge is ready. `payload` is challenge-specific:
   * `{}` for http-01/dns-01, `{"atc": <token>}` for tkauth-01 (RFC 9447 §4). Only a `pending`
   * challenge takes a response; `invalid` is final (§7.1.6) and CAs refuse a second one.
   */
  async respondToChallenge(url: string, payload: Record<string, unknown> = {}): Promise<AcmeChallenge> {
    if (!isJsonObject(payload)) throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'challenge response must be a JSON object');
    const response = await this.requester.post(url, payload, this.accountSigner());
    return parseChallenge(this.requester.json(response, url), url);
  }

  /** RFC 9447: answer the authorization's tkauth-01 challenge, once, with an SPC token from `getToken`. */
  completeTkauthChallenge(options: CompleteTkauthOptions): Promise<AcmeAuthorization> {
    return completeTkauthChallenge(this, options);
  }

  /** RFC 9447 for a whole order; after an invalid challenge, a new order with a fresh token (at most twice). */
  authorizeTkauthOrder(options: AuthorizeTkauthOrderOptions): Promise<AcmeOrder> {
    return authorizeTkauthOrder(this, options);
  }

  /** Polls a challenge until `valid` or `invalid` and returns it in that state. */
  async waitForChallenge(url: string): Promise<AcmeChallenge> {
    return pollUntilSettled({
      url,
      first: await this.fetchChallenge(url),
      fetchOnce: () => this.fetchChallenge(url),
      isSettled: (status) => status === 'valid' || status === 'invalid',
      options: this.polling,
      sleep: this.sleep,
    });
  }

  /** Polls an authorization while `pending`; throws ACME.AUTHORIZATION_INVALID unless it ends `valid`. */
  async waitForAuthorization(url: string): Promise<AcmeAuthorization> {
    const authorization = await pollUntilSettled({
      url,
      first: await this.fetchAuthorization(url),
      fetchOnce: () => this.fetchAuthorization(url),
      isSettled: (status) => status !== 'pending',
      options: this.polling,
      sleep: this.sleep,
    });
    if (authorization.status !== 'valid') {
      const failed = authorization.challenges.find((challenge) => challenge.error !== undefined);
      throw new AcmeStatusError(AcmeErrorCode.AUTHORIZATION_INVALID, url, authorization.status, failed?.error);
    }
    return authorization;
  }

  /**
   * Polls an order while it moves toward `target` on its own (RFC 8555 §7.4: `pending` while the
   * authorizations are validated, `processing` while the CA issues). Throws ACME.ORDER_INVALID with
   * the order's `error` if it became invalid, ACME.INVALID_ARGUMENT if it waits for a request from
   * us instead (a `ready` order becomes valid only after finalize).
   */
  async waitForOrder(url: string, target: 'ready' | 'valid'): Promise<AcmeOrder> {
    const moving = target === 'ready' ? 'pending' : 'processing';
    const order = await pollUntilSettled({
      url,
      first: await this.fetchOrder(url),
      fetchOnce: () => this.fetchOrder(url),
      isSettled: (status) => status !== moving,
      options: this.polling,
      sleep: this.sleep,
    });
    if (order.status === 'invalid') throw new AcmeStatusError(AcmeErrorCode.ORDER_INVALID, url, 'invalid', order.error);
    const reached = target === 'ready' ? order.status !== 'pending' : order.status === 'valid';
    if (!reached) {
      throw new AcmeUsageError(
        AcmeErrorCode.INVALID_ARGUMENT,
        `ACME order ${url} is "${order.status}" and needs a request from us before it can become ${target}`,
      );
    }
    return order;
  }

  /**
   * RFC 8555 §7.4: wait until the order is ready, send the CSR (DER), then poll until valid,
   * honouring Retry-After. An order already processing or valid is only waited for.
   */
  async finalizeOrder(order: AcmeOrder, csrDer: Uint8Array): Promise<AcmeOrder> {
    // PKCS #10 CertificationRequest is a SEQUENCE.
    if (!(csrDer instanceof Uint8Array) || csrDer.byteLength < 2 || csrDer[0] !== 0x30) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'CSR must be DER bytes of a PKCS#10 CertificationRequest');
    }
    if (order.status === 'invalid') throw new AcmeStatusError(AcmeErrorCode.ORDER_INVALID, order.url, 'invalid', order.error);
    const ready = order.status === 'pending' ? await this.waitForOrder(order.url, 'ready') : order;
    if (ready.status !== 'ready') return this.waitForOrder(order.url, 'valid');

    const response = await this.requester.post(ready.finalize, { csr: base64UrlEncode(csrDer) }, this.accountSigner());
    const finalized = parseOrder(this.requester.json(response, ready.finalize), order.url, ready.finalize, response.headers.get(STI_CR_HEADER));
    const settled = await pollUntilSettled({
      url: order.url,
      first: this.snapshot(finalized, response),
      fetchOnce: () => this.fetchOrder(order.url),
      // Some CAs still show `ready` for a moment after accepting finalize.
      isSettled: (status) => status !== 'processing' && status !== 'ready',
      options: this.polling,
      sleep: this.sleep,
    });
    if (settled.status === 'invalid') throw new AcmeStatusError(AcmeErrorCode.ORDER_INVALID, order.url, 'invalid', settled.error);
    if (settled.status !== 'valid') {
      throw new AcmeProtocolError(`ACME order ${order.url} went back to "${settled.status}" after finalize`);
    }
    const stiCrUrl = settled.stiCrUrl ?? finalized.stiCrUrl ?? order.stiCrUrl;
    return stiCrUrl === undefined ? settled : { ...settled, stiCrUrl };
  }

  /**
   * RFC 8555 §7.4.2: POST-as-GET the certificate URL for `application/pem-certificate-chain`.
   * Alternate chains come from `Link: rel="alternate"`.
   */
  async downloadCertificate(source: AcmeOrder | string, options: DownloadOptions = {}): Promise<AcmeCertificateDownload> {
    const url = typeof source === 'string' ? source : source.certificate;
    if (url === undefined) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `ACME order ${typeof source === 'string' ? source : source.url} has no certificate yet`);
    }
    const chain = await this.fetchChain(url, typeof source === 'string' ? undefined : source.stiCrUrl);
    const alternates: AcmeCertificateChain[] = [];
    if (options.includeAlternates) {
      for (const alternateUrl of chain.alternateUrls.slice(0, MAX_ALTERNATES)) {
        alternates.push(await this.fetchChain(alternateUrl, chain.stiCrUrl));
      }
    }
    return { ...chain, alternates };
  }

  /** RFC 8555 §7.6: revoke by the account (kid) or by the certificate's own key (jwk). */
  async revokeCertificate(certificateDer: Uint8Array, options: RevokeOptions = {}): Promise<void> {
    if (!(certificateDer instanceof Uint8Array) || certificateDer.byteLength < 2 || certificateDer[0] !== 0x30) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, 'certificate to revoke must be DER bytes of an X.509 Certificate');
    }
    const reason = options.reason;
    if (reason !== undefined && !(Object.values(RevocationReason) as number[]).includes(reason)) {
      throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `revocation reason ${String(reason)} is not an RFC 5280 CRLReason`);
    }
    const directory = await this.getDirectory();
    if (!directory.revokeCert) throw this.unsupported('revokeCert');
    const payload: Record<string, unknown> = { certificate: base64UrlEncode(certificateDer) };
    if (reason !== undefined) payload.reason = reason;
    if (options.certificateKey) assertP256KeyPair(options.certificateKey, 'certificate key');
    const signer: AcmeSigner = options.certificateKey ? { kind: 'jwk', keyPair: options.certificateKey } : this.accountSigner();
    await this.requester.post(directory.revokeCert, payload, signer);
  }

  /** Releases connections held by a client-owned dispatcher. */
  close(): Promise<void> {
    return this.requester.close();
  }

  // ---- internals -------------------------------------------------------------------------------

  private async accountRequest(newAccountUrl: string, payload: Record<string, unknown>): Promise<AcmeAccount> {
    const response = await this.requester.post(newAccountUrl, payload, { kind: 'jwk', keyPair: this.accountKey });
    const url = this.requester.location(response, newAccountUrl, 'account');
    const account = parseAccount(this.requester.json(response, newAccountUrl), url, newAccountUrl);
    this.kid = url;
    return account;
  }

  private async fetchOrder(url: string): Promise<PollSnapshot<AcmeOrder>> {
    const response = await this.requester.post(url, undefined, this.accountSigner());
    return this.snapshot(parseOrder(this.requester.json(response, url), url, url, response.headers.get(STI_CR_HEADER)), response);
  }

  private async fetchAuthorization(url: string): Promise<PollSnapshot<AcmeAuthorization>> {
    const response = await this.requester.post(url, undefined, this.accountSigner());
    return this.snapshot(parseAuthorization(this.requester.json(response, url), url, url), response);
  }

  private async fetchChallenge(url: string): Promise<PollSnapshot<AcmeChallenge>> {
    const response = await this.requester.post(url, undefined, this.accountSigner());
    return this.snapshot(parseChallenge(this.requester.json(response, url), url), response);
  }

  private snapshot<T extends { status: string }>(value: T, response: HttpResult): PollSnapshot<T> {
    return { value, status: value.status, retryAfterMs: this.requester.retryAfterMs(response) };
  }

  private async fetchChain(url: string, orderStiCrUrl: string | undefined): Promise<AcmeCertificateChain> {
    const response = await this.requester.post(url, undefined, this.accountSigner(), PEM_CHAIN);
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== PEM_CHAIN) {
      throw new AcmeProtocolError(`certificate download from ${url} returned Content-Type ${JSON.stringify(contentType)}, not ${PEM_CHAIN}`);
    }
    const chain: AcmeCertificateChain = {
      url,
      pem: response.body,
      certificates: splitPemChain(response.body, url),
      alternateUrls: linkTargets(response.headers.get('link'), 'alternate', url),
    };
    const header = response.headers.get(STI_CR_HEADER);
    const stiCrUrl = orderStiCrUrl ?? (header && URL.canParse(header) ? header : undefined);
    if (stiCrUrl !== undefined) chain.stiCrUrl = stiCrUrl;
    return chain;
  }

  private accountSigner(): AcmeSigner {
    return { kind: 'kid', kid: this.requireAccountUrl(), keyPair: this.accountKey };
  }

  private requireAccountUrl(): string {
    if (!this.kid) {
      throw new AcmeUsageError(AcmeErrorCode.NO_ACCOUNT, 'no ACME account URL yet: call createAccount or findAccount first');
    }
    return this.kid;
  }

  private publicJwk(): Promise<EcPublicJwk> {
    this.accountJwk ??= exportPublicJwk(this.accountKey.publicKey, this.subtle);
    return this.accountJwk;
  }

  private unsupported(resource: string): AcmeUsageError {
    return new AcmeUsageError(AcmeErrorCode.UNSUPPORTED_OPERATION, `ACME server ${this.directoryUrl} offers no ${resource} resource`);
  }
}

function toRfc3339(value: Date | string, member: string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new AcmeUsageError(AcmeErrorCode.INVALID_ARGUMENT, `${member} is not a valid date`);
  // RFC 8555 §7.1.3: RFC 3339 date-time.
  return date.toISOString();
}
