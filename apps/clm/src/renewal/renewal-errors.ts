import { DomainError } from '../common/domain-error.js';

/** Stable codes of the renewal feature (manual renew/revoke, policies). */
export const RenewalErrorCode = {
  RENEWAL_IN_PROGRESS: 'CERTIFICATE.RENEWAL_IN_PROGRESS',
  NOT_REVOCABLE: 'CERTIFICATE.NOT_REVOCABLE',
  REPLACE_NEEDS_ACTIVE: 'CERTIFICATE.REPLACE_NEEDS_ACTIVE',
  REVOCATION_FAILED: 'CERTIFICATE.REVOCATION_FAILED',
  NO_CHAIN: 'CERTIFICATE.NOT_ISSUED',
} as const;

export const renewalInProgress = (id: string) =>
  new DomainError(RenewalErrorCode.RENEWAL_IN_PROGRESS, 409, `certificate ${id} is being claimed for renewal by another request or replica; try again in a moment`);
