import { base64UrlDecode, base64UrlEncode, isShakenError, parseCertificate, serialHex, spkiDer } from '@app/shaken';
import type { SandboxPki } from '../../pki/sandbox-pki.js';
import type { CertificateRecord } from '../../state/records.js';
import type { SandboxStore } from '../../state/sandbox-store.js';
import { AcmeProblem } from './acme-problem.js';
import { requireObjectPayload, type VerifiedRequest } from './acme-request.js';

/**
 * RFC 5280 §5.3.1 reasons a subscriber may give (RFC 8555 §7.6 leaves the choice to the CA):
 * unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation,
 * privilegeWithdrawn. cACompromise and aACompromise are the CA's to declare, certificateHold is
 * not reversible here, removeFromCRL belongs to delta CRLs.
 */
export const SUBSCRIBER_REASONS: readonly number[] = [0, 1, 3, 4, 5, 9];

/**
 * revokeCert (RFC 8555 §7.6): signed either by the account that ordered the certificate (kid)
 * or by the certificate's own key (jwk). A revocation goes onto the STI-PA CRL.
 */
export class AcmeRevocation {
  constructor(
    private readonly store: SandboxStore,
    private readonly pki: SandboxPki,
    private readonly clock: () => Date,
  ) {}

  async revoke(request: VerifiedRequest): Promise<CertificateRecord> {
    const payload = requireObjectPayload(request, 'revokeCert');
    const unknown = Object.keys(payload).filter((key) => key !== 'certificate' && key !== 'reason');
    if (unknown.length > 0) throw new AcmeProblem('malformed', `revokeCert does not take ${unknown.join(', ')}`);
    const reason = payload.reason ?? 0;
    if (typeof reason !== 'number' || !SUBSCRIBER_REASONS.includes(reason)) {
      throw new AcmeProblem('badRevocationReason', `reason must be one of ${SUBSCRIBER_REASONS.join(', ')} (RFC 5280 §5.3.1)`);
    }
    const der = typeof payload.certificate === 'string' ? base64UrlDecode(payload.certificate) : undefined;
    if (der === undefined) throw new AcmeProblem('malformed', 'certificate must be the base64url DER certificate');
    let serial: string;
    let issuer: string;
    try {
      const certificate = parseCertificate(der);
      serial = serialHex(certificate);
      issuer = certificate.issuer;
    } catch (error) {
      if (isShakenError(error)) throw new AcmeProblem('malformed', `certificate: ${error.message}`);
      throw error;
    }
    const record = this.store.state.certificates.find((candidate) => candidate.serial === serial);
    if (!record || issuer !== this.pki.stiCaIntermediate.certificate.subject) {
      throw new AcmeProblem('malformed', 'this CA did not issue that certificate', { status: 404 });
    }
    if (request.account) {
      if (record.accountId !== request.account.id) throw new AcmeProblem('unauthorized', 'the certificate was ordered by another account');
    } else if (base64UrlEncode(await spkiDer(request.publicKey)) !== record.publicKeySpki) {
      throw new AcmeProblem('unauthorized', 'the JWS key is not the certificate key');
    }
    if (record.revocation) throw new AcmeProblem('alreadyRevoked', `certificate ${serial} is already revoked`);
    return this.store.update((state) => {
      const stored = state.certificates.find((candidate) => candidate.id === record.id);
      if (!stored) throw new AcmeProblem('malformed', 'certificate vanished', { status: 404 });
      stored.revocation = { at: this.clock().toISOString(), reason };
      return stored;
    });
  }
}
