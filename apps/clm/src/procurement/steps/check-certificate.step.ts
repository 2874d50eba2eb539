import { Injectable } from '@nestjs/common';
import { lintCertificate, readCrlDistributionPoint, type X509Certificate } from '@app/shaken';
import { Clock } from '../../common/clock.js';
import { CertificateTrustCheck } from '../certificate-trust-check.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import type { OrderStep, StepOutcome } from './order-step.js';

/** A certificate dated ahead of our clock by up to this much is simply waited for. */
const MAX_CLOCK_SKEW_WAIT_MS = 24 * 3_600_000;

/**
 * downloaded → checked: nothing the CA sent is used before it passes what STIR-SHAKEN.md §4 asks
 * of every issued certificate (CertificateTrustCheck, shared with import): it certifies our key,
 * its TNAuthList is the order's, it is valid now, it chains to a root on the STI-PA's approved CA
 * list, nothing on its path is on the STI-PA CRL; and the ATIS-1000080 / SHAKEN CP linter finds
 * no error in it. The first failure ends the order in `failed` with that check's code; the OCN's
 * current certificate stays active.
 */
@Injectable()
export class CheckCertificateStep implements OrderStep {
  readonly name = 'checkCertificate' as const;

  constructor(
    private readonly trustCheck: CertificateTrustCheck,
    private readonly clock: Clock,
  ) {}

  async run(context: OrderContext): Promise<StepOutcome> {
    const { certificate, provider } = context;
    if (!certificate.chainPem) {
      throw new ProcurementError('CERTIFICATE_ORDER.INCONSISTENT', `certificate ${certificate.id} is downloaded without a chain`, true);
    }
    if (!provider.stiPaAccount) {
      throw new ProcurementError('PROVIDER.STI_PA_ACCOUNT_MISSING', 'the STI-PA CA list and CRL are read with the provider\'s STI-PA API user', false);
    }
    const now = this.clock.now();
    this.waitForNotBefore(certificate.notBefore, now);
    const { leaf, path, crl, crlSignatureVerified } = await this.trustCheck.check({
      chain: certificate.chainPem,
      publicKey: certificate.key.publicKeySpki,
      spc: context.ocn.code,
      account: provider.stiPaAccount,
      ...(context.order.spcToken?.crlUrl ? { crlUrl: context.order.spcToken.crlUrl } : {}),
    });

    const findings = lintCertificate(leaf, { now });
    const errors = findings.filter((finding) => finding.severity === 'error');
    if (errors.length > 0) {
      throw new ProcurementError(
        'CERT.LINT_FAILED',
        `the issued certificate breaks the SHAKEN profile: ${errors.map((e) => `${e.code} (${e.message})`).join('; ')}`.slice(0, 900),
        true,
        { lintErrors: errors.map((e) => e.code) },
      );
    }
    return {
      details: {
        path: path.map((c: X509Certificate) => c.subject),
        trustAnchor: path.at(-1)?.subject ?? null,
        crlIssuer: crl.issuer,
        crlSignatureVerified,
        leafCrlUrl: readCrlDistributionPoint(leaf, 'CERT.MALFORMED')?.url ?? null,
        lintWarnings: findings.filter((f) => f.severity === 'warning').map((f) => f.code),
      },
    };
  }

  /**
   * CAs date certificates by their own clock; one a little ahead of ours is not valid for us yet
   * and would be refused by verifiers for a moment too (STIR-SHAKEN.md §7: valid at iat). It is
   * checked again exactly when it becomes valid, rather than after an hour of backoff.
   */
  private waitForNotBefore(notBefore: Date | null, now: Date): void {
    if (!notBefore) return;
    const ahead = notBefore.getTime() - now.getTime();
    if (ahead <= 0 || ahead > MAX_CLOCK_SKEW_WAIT_MS) return;
    throw new ProcurementError(
      'CERT.NOT_YET_VALID',
      `the certificate is valid from ${notBefore.toISOString()}, ${Math.ceil(ahead / 1000)} s from now; checking it then`,
      false,
      undefined,
      ahead + 1_000,
    );
  }
}
