import type { Provider } from '@app/db';
import { failing, missing, ok, type ReadinessItem } from './readiness-item.js';

/**
 * The provider's regulatory identifiers. Their formats are enforced when entered (identifiers.ts
 * and CHECK constraints), so here it is only whether they are on file: the STI-PA issues SPC
 * tokens only to providers with a current Form 499-A filing and a Robocall Mitigation Database
 * listing (STIR-SHAKEN.md §3; 47 CFR §64.6305).
 */
const patchProvider = (providerId: string, body: string) => `PATCH /api/v1/providers/${providerId} ${body}`;

export function checkFrn(provider: Provider): ReadinessItem {
  // FRN is required at creation (FCC CORES registration, 10 digits): present means on file.
  return ok(`FRN ${provider.frn} on file`);
}

export function checkFiler499(provider: Provider): ReadinessItem {
  if (provider.filer499Id) return ok(`Form 499-A filer ID ${provider.filer499Id} on file`);
  return missing(
    'no Form 499-A filer ID: the STI-PA grants SPC tokens only to providers with a current 499-A filing',
    patchProvider(provider.id, '{"filer499Id":"<6 digits>"}'),
  );
}

export function checkRmd(provider: Provider): ReadinessItem {
  if (provider.rmdNumber) return ok(`Robocall Mitigation Database listing ${provider.rmdNumber} on file`);
  return missing(
    'no Robocall Mitigation Database number: the STI-PA requires an RMD listing (47 CFR §64.6305)',
    patchProvider(provider.id, '{"rmdNumber":"RMD<digits>"}'),
  );
}

export function checkOcns(providerId: string, ocns: readonly string[]): ReadinessItem {
  if (ocns.length > 0) return ok(`${ocns.length} OCN(s): ${ocns.join(', ')}`);
  return missing('no OCN is onboarded: certificates are issued per OCN (the SPC)', `POST /api/v1/providers/${providerId}/ocns {"ocn":"<OCN>"}`);
}

/**
 * Signing not suspended by an operator (signing-suspension.service.ts; STIR-SHAKEN.md §3: a
 * provider whose SPC token the STI-GA revoked must stop signing). While it is, signers get 403
 * SIGNER.SIGNING_SUSPENDED for every OCN of the provider, whatever else is ready.
 */
export function checkSigning(provider: Provider): ReadinessItem {
  if (!provider.signingSuspendedAt) return ok('signing is not suspended');
  return failing(
    `signing suspended since ${provider.signingSuspendedAt.toISOString()} (${provider.signingSuspendedReason ?? 'no reason given'}): signers get nothing for this provider's OCNs`,
    `once the STI-GA reinstates the provider: clm providers resume-signing ${provider.id} (POST /api/v1/providers/${provider.id}/resume-signing)`,
  );
}
