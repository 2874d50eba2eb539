import {
  assertValidSpc,
  base64Decode,
  base64Encode,
  bytesEqual,
  decodeTnAuthList,
  isShakenError,
  parseCompactJws,
  pemDecodeAll,
  singleSpc,
  tnAuthListForSpc,
} from '@app/shaken';
import { verifyCaList, type CaList } from './ca-list.js';
import { StiPaError, StiPaErrorCode } from './errors.js';
import { StiPaHttp, type HttpResult, type StiPaTransportOptions } from './http.js';
import { errorForStatus, isJsonContentType, malformed, requireString, successJson, type RequestKind } from './responses.js';
import { DEFAULT_RETRY_POLICY, realSleep, validateRetryPolicy, withRetries, type RetryPolicy, type Sleep } from './retry.js';
import { DEFAULT_SESSION_OPTIONS, StiPaSession, type SessionTokens, type StiPaCredentials, type StiPaCredentialsSource } from './session.js';

export interface StiPaClientOptions {
  /**
   * The API base, ending in `/api/v1`: production `https://authenticate-api.iconectiv.com/api/v1`,
   * staging `https://authenticate-api-stg.iconectiv.com/api/v1`, or a sandbox.
   */
  baseUrl: string;
  /** The STI-PA "API User" (not a portal user). Read only when a login is needed; never logged. */
  credentials: StiPaCredentialsSource;
  /**
   * PEM of the pinned STI-PA root certificate(s). The CA list's signing certificate must chain to
   * one of them; without them `getCaList` refuses to run.
   */
  stiPaRootsPem?: string | string[];
  /** The STI-PA CRL. Default: `<origin of baseUrl>/download/v1/crl` next to `/api/v1`, as iconectiv serves it. */
  crlUrl?: string;
  transport?: StiPaTransportOptions;
  /** Retries of GETs and login on outages. Token requests are never retried automatically. */
  retry?: Partial<RetryPolicy>;
  /** Lifetime assumed for an access token that states none. Default 1 h. */
  accessTokenTtlMs?: number;
  clock?: () => Date;
  sleep?: Sleep;
  random?: () => number;
  userAgent?: string;
  /** Observability hook; receives paths and statuses only, never bodies or tokens. */
  onEvent?: (event: StiPaClientEvent) => void;
}

export type StiPaClientEvent =
  | { type: 'response'; request: RequestKind; method: string; url: string; status: number; durationMs: number }
  | { type: 'login' }
  | { type: 'relogin-after-401'; request: RequestKind };

export interface SpcTokenRequest {
  /** The provider's OCN (its SPC), e.g. `818H`. The API user's account must hold it. */
  ocn: string;
  /**
   * DER TNAuthList the token is for. Default: the list holding exactly this OCN as SPC (the
   * end-entity shape); it must name this OCN either way.
   */
  tnAuthList?: Uint8Array;
  /**
   * Fingerprint of the ACME account key in the form the STI-CA expects: `SHA256 AA:BB:..` over the
   * DER SubjectPublicKeyInfo (the default), or an RFC 7638 thumbprint for CAs that document it.
   */
  fingerprint: string;
  /** `true` orders a token for a CA certificate (delegate issuance). Default false. */
  ca?: boolean;
}

export interface SpcTokenGrant {
  /** Compact JWS. A bearer credential for certificate orders: store it sealed, never log it. */
  token: string;
  /** The STI-PA CRL URL to put in the CSR's CRL distribution point. */
  crlUrl: string | undefined;
  /** The CRL issuer DN when the STI-PA states it (some responses carry `iss`). */
  crlIssuer: string | undefined;
  message: string | undefined;
  /** `exp` of the token. */
  expiresAt: Date;
}

export interface CrlDownload {
  url: string;
  /** DER CertificateList. Its signature is the caller's to verify (with @app/shaken). */
  der: Uint8Array;
}

export type { CaList };

const JOSE_JSON = 'application/jose+json';
// SHA256 + 32 colon-separated uppercase hex bytes over the SPKI; or an RFC 7638 base64url thumbprint.
const SPKI_FINGERPRINT = /^SHA256 [0-9A-F]{2}(?::[0-9A-F]{2}){31}$/;
const JWK_THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/**
 * Client of the STI-PA REST API (iconectiv "authenticate-api"): login with a cached access token,
 * SPC token requests, the signed list of approved STI-CAs, and the STI-PA CRL. One instance per
 * API user; safe to share between concurrent callers.
 */
export class StiPaClient {
  readonly baseUrl: string;
  readonly crlUrl: string;
  private readonly http: StiPaHttp;
  private readonly session: StiPaSession;
  private readonly clock: () => Date;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly rootsPem: string[];
  private readonly onEvent: ((event: StiPaClientEvent) => void) | undefined;

  constructor(options: StiPaClientOptions) {
    this.baseUrl = httpsUrl(options.baseUrl, 'baseUrl').replace(/\/+$/, '');
    this.crlUrl = httpsUrl(options.crlUrl ?? defaultCrlUrl(this.baseUrl), 'crlUrl');
    this.clock = options.clock ?? (() => new Date());
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.retry = validateRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry });
    this.rootsPem = options.stiPaRootsPem === undefined ? [] : [options.stiPaRootsPem].flat();
    this.onEvent = options.onEvent;
    this.http = new StiPaHttp(options.transport ?? {}, options.userAgent ?? 'shaken-clm-sti-pa/0.1');
    this.session = new StiPaSession(
      { login: (credentials) => this.postLogin(credentials), refresh: (refreshToken) => this.postRefresh(refreshToken) },
      options.credentials,
      this.clock,
      { ...DEFAULT_SESSION_OPTIONS, accessTokenTtlMs: options.accessTokenTtlMs ?? DEFAULT_SESSION_OPTIONS.accessTokenTtlMs },
    );
  }

  /** Logs in now (instead of on first use), e.g. to check new credentials. */
  async login(): Promise<void> {
    await this.session.loginNow();
  }

  /**
   * Requests an SPC token (`POST /account/{OCN}/token`). Not retried on outages or 429: the
   * STI-PA is rate-sensitive, and the caller decides when to ask again (`retryAfterMs`).
   */
  async requestSpcToken(request: SpcTokenRequest): Promise<SpcTokenGrant> {
    const { ocn, fingerprint } = request;
    const ca = request.ca ?? false;
    try {
      assertValidSpc(ocn);
    } catch (error) {
      throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, `OCN is not usable: ${(error as Error).message}`);
    }
    if (typeof fingerprint !== 'string' || !(SPKI_FINGERPRINT.test(fingerprint) || JWK_THUMBPRINT.test(fingerprint))) {
      throw new StiPaError(
        StiPaErrorCode.INVALID_ARGUMENT,
        'fingerprint must be "SHA256 " + 32 uppercase hex bytes separated by colons, or an RFC 7638 base64url thumbprint',
      );
    }
    const tnAuthList = request.tnAuthList ?? tnAuthListForSpc(ocn);
    assertNamesOcn(tnAuthList, ocn);
    const tkvalue = base64Encode(tnAuthList);
    const what = `POST /account/${ocn}/token`;
    const body = JSON.stringify({ atc: { tktype: 'TNAuthList', tkvalue, ca, fingerprint } });
    const result = await this.authorized('token', (accessToken) =>
      this.send('token', 'POST', `${this.baseUrl}/account/${encodeURIComponent(ocn)}/token`, what, {
        authorization: accessToken,
        accept: JOSE_JSON,
        'content-type': 'application/json',
      }, body),
    );
    const json = successJson(result, what);
    const token = requireString(json, 'token', what, result.status);
    const expiresAt = checkIssuedToken(token, { tkvalue, fingerprint, ca }, what, result.status);
    return {
      token,
      crlUrl: optionalString(json.crl),
      crlIssuer: optionalString(json.iss),
      message: optionalString(json.message),
      expiresAt,
    };
  }

  /**
   * The list of approved STI-CAs (`GET /ca-list`), verified: ES256 signature by the certificate at
   * the JWS `x5u`, that certificate chaining to the pinned STI-PA root, `exp` in the future.
   */
  async getCaList(): Promise<CaList> {
    if (this.rootsPem.length === 0) {
      throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, 'getCaList needs the pinned STI-PA root (stiPaRootsPem)');
    }
    const what = 'GET /ca-list';
    const result = await withRetries(
      () => this.authorized('ca-list', (accessToken) => this.send('ca-list', 'GET', `${this.baseUrl}/ca-list`, what, { authorization: accessToken, accept: 'application/json' })),
      this.retry,
      this.sleep,
      this.random,
    );
    const json = successJson(result, what);
    const jws = requireString(json, 'caList', what, result.status);
    return verifyCaList(jws, {
      rootsPem: this.rootsPem,
      now: this.clock(),
      fetchCertificates: (url) => this.fetchCertificateChain(url),
    });
  }

  /** Downloads the STI-PA CRL (public, no login). Returns DER even when the server sends PEM. */
  async downloadCrl(url: string = this.crlUrl): Promise<CrlDownload> {
    const target = httpsUrl(url, 'CRL URL');
    const what = `GET ${new URL(target).pathname}`;
    const result = await withRetries(
      () => this.send('crl', 'GET', target, what, { accept: 'application/pkix-crl, application/x-pem-file;q=0.5' }),
      this.retry,
      this.sleep,
      this.random,
    );
    return { url: target, der: crlDer(result.body, what, result.status) };
  }

  /**
   * A certificate chain published at an `x5u` URL (the STI-PA signing certificate, PEM, leaf
   * first), fetched with this client's TLS trust and retries.
   */
  async fetchCertificateChain(url: string): Promise<string> {
    const target = httpsUrl(url, 'x5u');
    const what = `GET ${new URL(target).pathname}`;
    const result = await withRetries(
      () => this.send('certificate', 'GET', target, what, { accept: 'application/pem-certificate-chain, application/x-pem-file;q=0.5' }),
      this.retry,
      this.sleep,
      this.random,
    );
    const text = Buffer.from(result.body).toString('utf8');
    const blocks = pemDecodeAll(text);
    if (blocks === undefined || blocks.length === 0 || blocks.some((block) => block.label !== 'CERTIFICATE')) {
      throw malformed(what, 'a body that is not a PEM certificate chain', result.status);
    }
    return text;
  }

  async close(): Promise<void> {
    this.session.clear();
    await this.http.close();
  }

  // No RFC covers this API. As iconectiv documents it and production clients call it: login is
  // `POST /auth/login` {userId, password}; the access token (about 1 h) goes raw in
  // `Authorization`, without "Bearer"; renewal is `POST /auth/refreshToken` {refreshToken}.
  private async postLogin(credentials: StiPaCredentials): Promise<SessionTokens> {
    const what = 'POST /auth/login';
    this.onEvent?.({ type: 'login' });
    const body = JSON.stringify({ userId: credentials.userId, password: credentials.password });
    const result = await withRetries(
      () => this.send('login', 'POST', `${this.baseUrl}/auth/login`, what, { 'content-type': 'application/json', accept: 'application/json' }, body),
      this.retry,
      this.sleep,
      this.random,
    );
    return sessionTokens(result, what, true);
  }

  private async postRefresh(refreshToken: string): Promise<SessionTokens> {
    const what = 'POST /auth/refreshToken';
    const result = await this.send('refresh', 'POST', `${this.baseUrl}/auth/refreshToken`, what, {
      'content-type': 'application/json',
      accept: 'application/json',
    }, JSON.stringify({ refreshToken }));
    return sessionTokens(result, what, false);
  }

  /** Sends with the session's access token; after a 401, logs in again once and resends. */
  private async authorized(kind: RequestKind, send: (accessToken: string) => Promise<HttpResult>): Promise<HttpResult> {
    const first = await this.session.accessToken();
    try {
      return await send(first);
    } catch (error) {
      if (!(error instanceof StiPaError) || error.code !== StiPaErrorCode.BAD_CREDENTIALS) throw error;
      this.session.invalidate(first);
      this.onEvent?.({ type: 'relogin-after-401', request: kind });
      return send(await this.session.accessToken());
    }
  }

  /** One request; non-2xx answers become typed errors. */
  private async send(kind: RequestKind, method: 'GET' | 'POST', url: string, what: string, headers: Record<string, string>, body?: string): Promise<HttpResult> {
    const started = Date.now();
    const result = await this.http.request(method, url, what, headers, body);
    this.onEvent?.({ type: 'response', request: kind, method, url: redactQuery(url), status: result.status, durationMs: Date.now() - started });
    if (result.status < 200 || result.status > 299) throw errorForStatus(result, what, kind, this.clock());
    if ((kind === 'login' || kind === 'refresh' || kind === 'token' || kind === 'ca-list') && !isJsonContentType(result.headers.get('content-type'))) {
      throw malformed(what, `content type ${JSON.stringify(result.headers.get('content-type'))} instead of JSON`, result.status);
    }
    return result;
  }
}

function httpsUrl(value: string, name: string): string {
  if (typeof value !== 'string' || !URL.canParse(value)) {
    throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, `${name} ${JSON.stringify(value)} is not a URL`);
  }
  const url = new URL(value);
  // The STI-PA API, its CRL and its certificates are served over HTTPS only; never downgrade.
  if (url.protocol !== 'https:') throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, `${name} must be an https URL`);
  if (url.username || url.password) throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, `${name} must not carry credentials`);
  return url.href;
}

/** iconectiv serves the API under `<host>/api/v1` and the CRL under `<host>/download/v1/crl`. */
function defaultCrlUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.pathname = url.pathname.replace(/\/api\/v1\/?$/, '') + '/download/v1/crl';
  return url.href;
}

function redactQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  return parsed.href;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function sessionTokens(result: HttpResult, what: string, needRefresh: boolean): SessionTokens {
  const json = successJson(result, what);
  const accessToken = requireString(json, 'accessToken', what, result.status);
  const refreshToken = needRefresh ? requireString(json, 'refreshToken', what, result.status) : optionalString(json.refreshToken);
  return refreshToken === undefined ? { accessToken } : { accessToken, refreshToken };
}

function assertNamesOcn(tnAuthList: Uint8Array, ocn: string): void {
  let spc: string | undefined;
  try {
    spc = singleSpc(decodeTnAuthList(tnAuthList));
  } catch (error) {
    throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, `tnAuthList is not a valid TNAuthList: ${(error as Error).message}`);
  }
  // ATIS-1000080 v005 §5.3.1: the token's TNAuthList is the SPC of the account it is requested for.
  if (spc !== ocn) {
    throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, `tnAuthList must hold exactly the SPC ${ocn}`);
  }
}

/**
 * Reads the issued token without trusting it: it must be a compact JWS whose `atc` is what we
 * asked for and which has an `exp`. Its signature and x5u chain are checked by whoever pins the
 * STI-PA root (procurement, via @app/shaken); this only catches an answer that is not our token.
 */
function checkIssuedToken(token: string, asked: { tkvalue: string; fingerprint: string; ca: boolean }, what: string, status: number): Date {
  let payload: Record<string, unknown>;
  try {
    payload = parseCompactJws(token).payload;
  } catch (error) {
    if (isShakenError(error)) throw malformed(what, `a token that is not a compact JWS (${error.message})`, status);
    throw error;
  }
  const atc = payload.atc as Record<string, unknown> | undefined;
  const sameValue = typeof atc?.tkvalue === 'string' && sameTkvalue(atc.tkvalue, asked.tkvalue);
  if (!atc || atc.tktype !== 'TNAuthList' || !sameValue || atc.fingerprint !== asked.fingerprint || atc.ca !== asked.ca) {
    throw malformed(what, 'a token whose atc claim differs from the request', status);
  }
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw malformed(what, 'a token without a numeric exp', status);
  return new Date(payload.exp * 1000);
}

function sameTkvalue(a: string, b: string): boolean {
  const x = base64Decode(a);
  const y = base64Decode(b);
  return x !== undefined && y !== undefined && bytesEqual(x, y);
}

function crlDer(body: Uint8Array, what: string, status: number): Uint8Array {
  const head = Buffer.from(body.subarray(0, 64)).toString('latin1');
  if (head.includes('-----BEGIN')) {
    const blocks = pemDecodeAll(Buffer.from(body).toString('utf8'));
    const block = blocks?.find((b) => b.label === 'X509 CRL');
    if (!block) throw malformed(what, 'PEM that holds no X509 CRL block', status);
    return block.der;
  }
  // DER CertificateList: a SEQUENCE (0x30).
  if (body.byteLength < 2 || body[0] !== 0x30) throw malformed(what, 'a body that is not a DER CRL', status);
  return body;
}
