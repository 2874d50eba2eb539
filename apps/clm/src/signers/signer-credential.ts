import { createHash, randomBytes } from 'node:crypto';

/**
 * Signer credentials: a prefix of their own (a leaked one is recognisable, and it can never be
 * mistaken for an admin token, which the admin guard would refuse anyway) and 256 random bits.
 * Only the SHA-256 is stored; a fast hash suffices because the credential has full entropy.
 */
export const SIGNER_CREDENTIAL_PREFIX = 'clm_signer_';

// 32 bytes of base64url without padding: 43 characters.
const SIGNER_CREDENTIAL_PATTERN = /^clm_signer_[A-Za-z0-9_-]{43}$/;

export function newSignerCredential(): string {
  return SIGNER_CREDENTIAL_PREFIX + randomBytes(32).toString('base64url');
}

/** Lowercase hex SHA-256, as stored in signer_clients.credential_hash. */
export function hashSignerCredential(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}

/** True for something shaped like a credential this service issues (checked before hashing). */
export function isSignerCredentialShape(value: string): boolean {
  return SIGNER_CREDENTIAL_PATTERN.test(value);
}

/**
 * The credential from `Authorization: Bearer <credential>`, or undefined. One header, one
 * scheme, one token: anything else is not a signer credential.
 */
export function signerCredentialFrom(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  const token = match?.[1];
  return token !== undefined && isSignerCredentialShape(token) ? token : undefined;
}
