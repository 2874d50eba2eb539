import { hashSignerCredential, signerCredentialFrom } from './signer-credential.js';
import type { HandOffSnapshot, SignerGrant } from './hand-off-snapshot.js';
import { signerErrors } from './signer-errors.js';

/**
 * The signer behind an Authorization header, from the in-memory view (no database): 401 for a
 * missing, malformed, unknown (or rotated-away) or disabled credential. Signers have their own
 * credentials and this check; the admin guard and admin tokens play no part in it.
 */
export function authenticateSigner(snapshot: HandOffSnapshot, authorization: string | string[] | undefined): SignerGrant {
  const credential = signerCredentialFrom(authorization);
  if (credential === undefined) throw signerErrors.unauthenticated();
  const grant = snapshot.signers.get(hashSignerCredential(credential));
  if (!grant) throw signerErrors.credentialInvalid();
  if (grant.disabled) throw signerErrors.credentialDisabled();
  return grant;
}
