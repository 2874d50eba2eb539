import { randomUUID } from 'node:crypto';
import { signSpcToken } from '@app/shaken';
import type { SandboxUrls } from '../common/sandbox-urls.js';
import type { FaultState } from '../faults/fault-state.js';
import type { SandboxPki } from '../pki/sandbox-pki.js';

/**
 * Issues SPC tokens as the STI-PA does (ATIS-1000080 v005 §5.3.1): a compact JWS with header
 * {alg ES256, typ JWT, x5u of the STI-PA signing certificate} and claims {exp, jti, atc}, no iat
 * and no iss, signed with the STI-PA signing key.
 */
export class SpcTokenIssuer {
  constructor(
    private readonly pki: SandboxPki,
    private readonly urls: SandboxUrls,
    private readonly faults: FaultState,
    private readonly validityMinutes: number,
    private readonly clock: () => Date,
  ) {}

  async issue(atc: { tkvalue: string; ca: boolean; fingerprint: string }): Promise<{ token: string; expiresAt: Date }> {
    const now = this.clock().getTime();
    // Fault switch: a token that expired a minute ago, as if it sat in a queue too long.
    const expiresAt = new Date(this.faults.settings.expiredSpcToken ? now - 60_000 : now + this.validityMinutes * 60_000);
    const token = await signSpcToken(
      { atc, x5u: this.urls.stiPaSigningCertificate, exp: expiresAt, jti: randomUUID() },
      this.pki.stiPaSigning.keys.privateKey,
    );
    return { token, expiresAt };
  }
}
