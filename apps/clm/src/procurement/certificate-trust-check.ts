import { Injectable } from '@nestjs/common';
import type { StiPaAccount } from '@app/db';
import {
  checkIssuedCertificate,
  checkNotRevoked,
  type PublicKeyInput,
  ShakenError,
  tnAuthListForSpc,
  type X509Certificate,
  type X509Crl,
} from '@app/shaken';
import { Clock } from '../common/clock.js';
import { StiClients } from './sti-clients.js';
import { StiPaTrust } from './sti-pa-trust.js';

export interface TrustCheckRequest {
  /** Leaf first, then its issuers (PEM). */
  readonly chain: string;
  /** The key the leaf must certify. */
  readonly publicKey: PublicKeyInput;
  /** The OCN whose SPC must be the leaf's whole TNAuthList. */
  readonly spc: string;
  /** The provider's STI-PA API user: the CA list and CRL are read with it, for its environment. */
  readonly account: StiPaAccount;
  /** The CRL to check against; default the STI-PA's (an SPC token response may name another). */
  readonly crlUrl?: string;
}

export interface TrustedCertificate {
  readonly leaf: X509Certificate;
  /** Leaf first, ending at the approved STI-CA root it chains to. */
  readonly path: X509Certificate[];
  readonly crl: X509Crl;
  /** False when no pinned certificate could verify the CRL's signature (it was trusted as fetched over TLS). */
  readonly crlSignatureVerified: boolean;
}

/**
 * STIR-SHAKEN.md §4, "every issued certificate must be checked before use": it certifies the
 * expected key, its TNAuthList is the OCN's SPC, it is valid now, it chains to a root on the
 * STI-PA's approved CA list (the one verified for the account's environment: a sandbox list
 * never vouches for a production provider), and nothing on its path is on the STI-PA CRL.
 * The one place these are decided, for certificates procurement obtained (CheckCertificateStep)
 * and for certificates brought in by import (CertificateImportService) alike. Throws the first
 * failure as a ShakenError (`CERT.UNTRUSTED_CHAIN`, `CERT.REVOKED`, `CRL.*`, ...) or the
 * STI-PA client's error when the list or CRL cannot be read.
 */
@Injectable()
export class CertificateTrustCheck {
  constructor(
    private readonly clients: StiClients,
    private readonly trust: StiPaTrust,
    private readonly clock: Clock,
  ) {}

  async check(request: TrustCheckRequest): Promise<TrustedCertificate> {
    const { account } = request;
    const stiPa = this.clients.stiPa(account);
    const trustAnchors = await this.trust.caListAnchors(stiPa, account);
    const { crl, signer } = await this.trust.crl(stiPa, request.crlUrl ?? stiPa.crlUrl, account);
    // Read after the downloads: a CRL signed while we fetched it is dated after a time taken
    // before, and would be refused as not yet valid (CRL.NOT_YET_VALID).
    const now = this.clock.now();
    const { leaf, path } = await checkIssuedCertificate({
      chain: request.chain,
      publicKey: request.publicKey,
      tnAuthList: tnAuthListForSpc(request.spc),
      trustAnchors,
      ...(signer ? { crl: { crl, issuer: signer } } : {}),
      now,
    });
    if (!signer) {
      // No pinned CRL signer: the CRL is trusted as downloaded over TLS from the STI-PA. A stale
      // one is still refused, and a listed serial still stops the certificate.
      if (crl.nextUpdate !== undefined && now.getTime() > crl.nextUpdate.getTime()) {
        throw new ShakenError('CRL.EXPIRED', `the STI-PA CRL was due to be replaced at ${crl.nextUpdate.toISOString()}`);
      }
      checkNotRevoked(path, crl);
    }
    return { leaf, path, crl, crlSignatureVerified: signer !== undefined };
  }
}
