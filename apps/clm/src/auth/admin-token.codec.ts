import { createHash, randomBytes } from 'node:crypto';

/**
 * Admin bearer tokens: a recognisable prefix (so secret scanners and humans can spot a leaked
 * one) and 256 random bits. Only the SHA-256 is stored; a fast hash is enough because the
 * token itself has full entropy (no dictionary to search).
 */
export const ADMIN_TOKEN_PREFIX = 'clm_admin_';

export function newAdminToken(): string {
  return ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
