import { DomainError } from '../common/domain-error.js';

/**
 * The signer API's refusals, each with its own stable code. One rule shapes them: a signer learns
 * nothing about OCNs outside its scope, so an OCN it may not pull and an OCN that does not exist
 * get the very same answer (SIGNER.OCN_NOT_FOUND, same detail).
 */
export const signerErrors = {
  unauthenticated: () =>
    new DomainError('SIGNER.UNAUTHENTICATED', 401, 'a signer credential is required (Authorization: Bearer clm_signer_…)'),
  credentialInvalid: () => new DomainError('SIGNER.CREDENTIAL_INVALID', 401, 'the signer credential is unknown or was rotated'),
  credentialDisabled: () => new DomainError('SIGNER.CREDENTIAL_DISABLED', 401, 'this signer is disabled'),
  ocnMalformed: () =>
    new DomainError('SIGNER.OCN_MALFORMED', 400, 'the OCN must be exactly 4 characters, digits and uppercase letters (e.g. 818H), written as such (not percent-encoded)'),
  queryInvalid: (detail: string) => new DomainError('SIGNER.QUERY_INVALID', 400, detail),
  requestInvalid: (detail: string) => new DomainError('SIGNER.REQUEST_INVALID', 400, detail),
  ocnNotFound: (ocn: string) => new DomainError('SIGNER.OCN_NOT_FOUND', 404, `no OCN ${ocn} for this signer`),
  noActiveCertificate: (ocn: string) =>
    new DomainError('SIGNER.NO_ACTIVE_CERTIFICATE', 404, `OCN ${ocn} has no active certificate yet`),
  signingSuspended: (ocn: string) =>
    new DomainError('SIGNER.SIGNING_SUSPENDED', 403, `the provider of OCN ${ocn} must not sign calls: an operator suspended its signing (e.g. its SPC token was revoked by the STI-GA); nothing is handed out or signed until it is resumed`),
  keyNotExportable: (ocn: string) =>
    new DomainError('SIGNER.KEY_NOT_EXPORTABLE', 409, `the key of OCN ${ocn}'s active certificate is not held in software custody; it cannot be handed out or used here`),
  keyUnavailable: (ocn: string, cause: string) =>
    new DomainError('SIGNER.KEY_UNAVAILABLE', 500, `the key of OCN ${ocn}'s active certificate cannot be opened (${cause}); an operator must check the key-encryption keys`),
  handOffUnavailable: () =>
    new DomainError('SIGNER.HANDOFF_UNAVAILABLE', 503, 'the credential view cannot be brought up to date (database unreachable); retry shortly'),
  auditUnavailable: () =>
    new DomainError('SIGNER.AUDIT_UNAVAILABLE', 503, 'the hand-out could not be recorded in the audit log, so no key was handed out; retry shortly'),
} as const;
