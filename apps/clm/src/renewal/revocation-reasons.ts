import { RevocationReason } from '@app/acme';

/**
 * RFC 5280 §5.3.1 reasons a subscriber may give for its own end-entity certificate. The others
 * are not ours to claim: cACompromise and aACompromise belong to authorities, certificateHold and
 * removeFromCRL to suspension, which the SHAKEN CP does not use.
 */
export const SUBSCRIBER_REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
] as const;

export type SubscriberRevocationReason = (typeof SUBSCRIBER_REVOCATION_REASONS)[number];

/** The CRLReason code sent in the ACME revokeCert payload (RFC 8555 §7.6). */
export function revocationReasonCode(reason: SubscriberRevocationReason): number {
  return RevocationReason[reason];
}

/** The reason name of a CRL entry's code, for certificates found on the STI-PA CRL. */
export function revocationReasonName(code: number | undefined): string {
  if (code === undefined) return 'unspecified';
  const entry = Object.entries(RevocationReason).find(([, value]) => value === code);
  return entry?.[0] ?? `reason ${code}`;
}
