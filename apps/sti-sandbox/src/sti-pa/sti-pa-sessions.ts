import { randomBytes } from 'node:crypto';

/**
 * Access and refresh tokens the sandbox STI-PA hands out at login. Kept in memory only: after a
 * restart clients get 401 and log in again, which is exactly what they must handle anyway.
 */
export const ACCESS_TOKEN_TTL_MS = 60 * 60_000;
export const REFRESH_TOKEN_TTL_MS = 24 * 60 * 60_000;

interface Grant {
  userId: string;
  expiresAt: number;
}

export interface IssuedSession {
  accessToken: string;
  refreshToken: string;
}

export class StiPaSessions {
  private readonly access = new Map<string, Grant>();
  private readonly refresh = new Map<string, Grant>();

  constructor(
    private readonly clock: () => Date,
    private readonly accessTtlMs: number = ACCESS_TOKEN_TTL_MS,
  ) {}

  issue(userId: string): IssuedSession {
    this.sweep();
    const now = this.clock().getTime();
    const accessToken = randomBytes(32).toString('base64url');
    const refreshToken = randomBytes(32).toString('base64url');
    this.access.set(accessToken, { userId, expiresAt: now + this.accessTtlMs });
    this.refresh.set(refreshToken, { userId, expiresAt: now + REFRESH_TOKEN_TTL_MS });
    return { accessToken, refreshToken };
  }

  /** The user an `Authorization` value belongs to, if it is a live access token. */
  userFor(accessToken: string | undefined): string | undefined {
    if (accessToken === undefined) return undefined;
    const grant = this.access.get(accessToken);
    if (!grant) return undefined;
    if (grant.expiresAt <= this.clock().getTime()) {
      this.access.delete(accessToken);
      return undefined;
    }
    return grant.userId;
  }

  /** A new access token (and a rotated refresh token) for a live refresh token. */
  renew(refreshToken: string): IssuedSession | undefined {
    const grant = this.refresh.get(refreshToken);
    if (!grant || grant.expiresAt <= this.clock().getTime()) return undefined;
    // Refresh tokens are single-use: a stolen one stops working once the owner used it.
    this.refresh.delete(refreshToken);
    return this.issue(grant.userId);
  }

  /** Ends every session of a user (password changed by the admin). */
  revokeUser(userId: string): void {
    for (const map of [this.access, this.refresh]) {
      for (const [token, grant] of map) if (grant.userId === userId) map.delete(token);
    }
  }

  get activeCount(): number {
    this.sweep();
    return this.access.size;
  }

  private sweep(): void {
    const now = this.clock().getTime();
    for (const map of [this.access, this.refresh]) {
      for (const [token, grant] of map) if (grant.expiresAt <= now) map.delete(token);
    }
  }
}
