import { Injectable } from '@nestjs/common';
import type { StiPaAccount } from '@app/db';
import { isStiPaError, StiPaErrorCode } from '@app/sti-pa';
import { StiClients } from '../../procurement/sti-clients.js';
import { failing, missing, ok, type ReadinessItem, withinDeadline } from './readiness-item.js';

/** A login answers in well under a second; past this the STI-PA counts as unreachable. */
export const STI_PA_LOGIN_DEADLINE_MS = 10_000;

/**
 * Is the provider's STI-PA API user usable right now? Logs in for real (POST /auth/login) with
 * the client procurement uses, so a wrong password, a missing source-IP allow-listing or an
 * outage shows here rather than in the next order. Nothing is written: the check is read-only.
 */
@Injectable()
export class StiPaLoginCheck {
  constructor(private readonly clients: StiClients) {}

  async check(providerId: string, account: StiPaAccount | null): Promise<ReadinessItem> {
    if (!account) {
      return missing('no STI-PA API user is configured: SPC tokens are requested with it', `PUT /api/v1/providers/${providerId}/sti-pa-account {"environment","baseUrl","userId","password"} with the API user from the STI-PA portal`);
    }
    const where = `${account.userId} at ${account.baseUrl} (${account.environment})`;
    const login = this.clients.stiPa(account).login().then(
      () => ok(`logged in as ${where}`),
      (error: unknown) => loginFailed(providerId, where, error),
    );
    return withinDeadline(login, STI_PA_LOGIN_DEADLINE_MS, () =>
      failing(`the STI-PA did not answer the login of ${where} within ${STI_PA_LOGIN_DEADLINE_MS / 1000} s`, 'check the network path to the STI-PA and its status page, then ask again'),
    );
  }
}

function loginFailed(providerId: string, where: string, error: unknown): ReadinessItem {
  const code = isStiPaError(error) ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  const reason = `login of ${where} failed: ${code}: ${message}`;
  switch (code) {
    case StiPaErrorCode.BAD_CREDENTIALS:
      return failing(reason, `PUT /api/v1/providers/${providerId}/sti-pa-account with the API user's current password (STI-PA portal)`);
    case StiPaErrorCode.NOT_ALLOW_LISTED:
      return failing(reason, "add this service's public source IP to the API user's allow-list in the STI-PA portal");
    case StiPaErrorCode.UNAVAILABLE:
    case StiPaErrorCode.TIMEOUT:
    case StiPaErrorCode.RATE_LIMITED:
      return failing(reason, 'the STI-PA is unreachable or busy: check the base URL, the network path and its status, then ask again');
    default:
      return failing(reason, `check the STI-PA base URL and API user (PUT /api/v1/providers/${providerId}/sti-pa-account)`);
  }
}
