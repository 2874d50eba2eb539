import { StiPaError, StiPaErrorCode } from './errors.js';

/**
 * The API user's session with the STI-PA: one access token shared by all requests, obtained by
 * login, renewed with the refresh token shortly before it lapses, and replaced by a fresh login
 * when the STI-PA rejects it. Concurrent callers share one login (single flight), so a burst of
 * token requests does not become a burst of logins against a rate-sensitive service.
 */

export interface StiPaCredentials {
  userId: string;
  password: string;
}

/** Static credentials, or a function that reads them (from a vault) each time a login is needed. */
export type StiPaCredentialsSource = StiPaCredentials | (() => Promise<StiPaCredentials>);

export interface SessionTokens {
  accessToken: string;
  refreshToken?: string;
}

export interface SessionApi {
  login(credentials: StiPaCredentials): Promise<SessionTokens>;
  refresh(refreshToken: string): Promise<SessionTokens>;
}

export interface SessionOptions {
  /** Lifetime assumed for an access token that does not state its own `exp`. Default 1 h. */
  accessTokenTtlMs: number;
  /** Renew this long before the expiry, so a request never leaves with a token about to lapse. */
  renewBeforeMs: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = { accessTokenTtlMs: 60 * 60_000, renewBeforeMs: 2 * 60_000 };

interface CachedSession {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: number;
}

/** `exp` of an access token that is a JWT; the STI-PA's are, but nothing below depends on it. */
function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const exp = (claims as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class StiPaSession {
  private current: CachedSession | undefined;
  private pending: Promise<CachedSession> | undefined;

  constructor(
    private readonly api: SessionApi,
    private readonly credentials: StiPaCredentialsSource,
    private readonly clock: () => Date,
    private readonly options: SessionOptions,
  ) {}

  /** A usable access token: cached, refreshed or from a new login. */
  async accessToken(): Promise<string> {
    const now = this.clock().getTime();
    const cached = this.current;
    if (cached && now < cached.expiresAt - this.options.renewBeforeMs) return cached.accessToken;
    return (await this.singleFlight(() => (cached?.refreshToken ? this.refreshOrLogin(cached.refreshToken) : this.login()))).accessToken;
  }

  /** Forces a new login (the caller wants to know now whether the credentials work). */
  async loginNow(): Promise<void> {
    await this.singleFlight(() => this.login());
  }

  /**
   * The STI-PA rejected `accessToken` (401): forget it, unless another caller already replaced it,
   * so that the next `accessToken()` logs in again.
   */
  invalidate(accessToken: string): void {
    if (this.current?.accessToken === accessToken) this.current = undefined;
  }

  /** Drops the tokens (e.g. on close). */
  clear(): void {
    this.current = undefined;
  }

  private async singleFlight(start: () => Promise<CachedSession>): Promise<CachedSession> {
    if (this.pending) return this.pending;
    const pending = start().then(
      (session) => {
        this.current = session;
        return session;
      },
      (error: unknown) => {
        this.current = undefined;
        throw error;
      },
    );
    this.pending = pending;
    try {
      return await pending;
    } finally {
      if (this.pending === pending) this.pending = undefined;
    }
  }

  private async login(): Promise<CachedSession> {
    const credentials = typeof this.credentials === 'function' ? await this.credentials() : this.credentials;
    if (typeof credentials?.userId !== 'string' || credentials.userId === '' || typeof credentials.password !== 'string' || credentials.password === '') {
      throw new StiPaError(StiPaErrorCode.INVALID_ARGUMENT, 'STI-PA credentials need a non-empty userId and password');
    }
    return this.toSession(await this.api.login(credentials));
  }

  private async refreshOrLogin(refreshToken: string): Promise<CachedSession> {
    try {
      return this.toSession(await this.api.refresh(refreshToken), refreshToken);
    } catch (error) {
      // An outage is not fixed by logging in; a refused refresh token (expired, revoked) is.
      if (error instanceof StiPaError && (error.code === StiPaErrorCode.UNAVAILABLE || error.code === StiPaErrorCode.TIMEOUT || error.code === StiPaErrorCode.RATE_LIMITED)) {
        throw error;
      }
      return this.login();
    }
  }

  private toSession(tokens: SessionTokens, previousRefreshToken?: string): CachedSession {
    const now = this.clock().getTime();
    const stated = jwtExpiryMs(tokens.accessToken);
    return {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? previousRefreshToken,
      expiresAt: stated !== undefined && stated > now ? Math.min(stated, now + 24 * 60 * 60_000) : now + this.options.accessTokenTtlMs,
    };
  }
}
