import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type StiPaAccount, type Tx } from '@app/db';
import type { Keystore } from '@app/keystore';
import { isShakenError, type LintFinding } from '@app/shaken';
import { isStiPaError } from '@app/sti-pa';
import { AuditService, type AuditActor } from '../../audit/audit.service.js';
import type { CertificateView } from '../../certificates/certificate-views.js';
import { CertificatesService } from '../../certificates/certificates.service.js';
import { Clock } from '../../common/clock.js';
import { conflict, DomainError, invalid, notFound } from '../../common/domain-error.js';
import { KEYSTORE } from '../../config/config.module.js';
import { privateKeyAad } from '../../common/sealed-secrets.js';
import { CertificateTrustCheck, type TrustedCertificate } from '../../procurement/certificate-trust-check.js';
import { KEY_RETIRED, keyRetired } from '../../procurement/key-retirement.js';
import { IN_FLIGHT_ORDER_STATES } from '../../procurement/order-states.js';
import { OrderWorker } from '../../procurement/order-worker.js';
import { examineImportedChain, type ExaminedChain, matchingPkcs8 } from './imported-chain.js';

export interface CertificateImport {
  readonly providerId: string;
  readonly ocn: string;
  /** Leaf first, then intermediates. */
  readonly chainPem: string;
  /** The certificate's key (SEC1 or PKCS#8); optional when the service already holds it. */
  readonly privateKeyPem?: string;
  /** The STI-CA renewals go to; default: the only registered STI-CA. */
  readonly stiCaId?: string;
}

export interface ImportedCertificate {
  readonly certificate: CertificateView;
  /** Certificate linter warnings (errors refuse the import). */
  readonly lintWarnings: readonly LintFinding[];
}

interface SealedKey {
  readonly id: string;
  readonly publicKeySpki: Uint8Array<ArrayBuffer>;
  readonly fingerprint: string;
  readonly sealed: Uint8Array<ArrayBuffer>;
  readonly kekId: string;
}

/**
 * Brings a certificate the service did not order under management (issue 6): a provider's
 * existing certificate, checked (imported-chain.ts for its form, then CertificateTrustCheck, the
 * very check procurement's checkCertificate step runs: a root on the STI-PA CA list of the
 * provider's STI-PA environment, nothing on the STI-PA CRL), its key sealed like our own keys,
 * and then handed to the lifecycle exactly where a procured certificate stands after its checks:
 * status `checked` with an order in state `checked`. Skipping that step is only sound because
 * every one of its checks ran here first (STIR-SHAKEN.md §4). The order worker then runs the same named steps as
 * for any certificate: publish to the STI-CR (retried with backoff while the store fails) and
 * activate (superseding the OCN's current certificate in the same transaction). From then on
 * renewal treats it like any other active certificate, at the STI-CA named here.
 */
@Injectable()
export class CertificateImportService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly worker: OrderWorker,
    private readonly certificates: CertificatesService,
    private readonly trustCheck: CertificateTrustCheck,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async import(request: CertificateImport, actor: AuditActor): Promise<ImportedCertificate> {
    const examined = examineImportedChain({ chainPem: request.chainPem, spc: request.ocn, now: this.clock.now() });
    // Before anything is written, and outside the transaction (it reads the STI-PA over the network).
    const trusted = await this.checkTrust(examined, request);
    const sealed = request.privateKeyPem === undefined ? undefined : await this.seal(examined, request.privateKeyPem);
    const certificateId = await this.prisma.transaction(async (tx) => {
      const { ocnId, stiCaId } = await this.checkTarget(tx, request);
      const existing = await tx.certificate.findUnique({ where: { fingerprintSha256: examined.fingerprintSha256 }, select: { id: true } });
      if (existing) {
        throw new DomainError('CERTIFICATE.ALREADY_MANAGED', 409, `certificate ${existing.id} is this certificate`, { certificateId: existing.id });
      }
      const keyId = await this.keyFor(tx, examined, sealed, { providerId: request.providerId, ocnId, ocn: request.ocn });
      const now = this.clock.now();
      const certificate = await tx.certificate.create({
        data: {
          providerId: request.providerId,
          ocnId,
          stiCaId,
          keyId,
          status: 'checked',
          serial: examined.serial,
          fingerprintSha256: examined.fingerprintSha256,
          subject: examined.subject,
          notBefore: examined.notBefore,
          notAfter: examined.notAfter,
          chainPem: examined.chainPem,
        },
      });
      // kind `issue`: the order enum has no `import`; the certificate.imported event says where it came from.
      const order = await tx.certificateOrder.create({ data: { certificateId: certificate.id, kind: 'issue', state: 'checked', nextAttemptAt: now } });
      const details = {
        orderId: order.id,
        keyId,
        keyProvided: sealed !== undefined,
        serial: examined.serial,
        issuer: examined.issuer,
        trustAnchor: trusted.path.at(-1)?.subject ?? null,
        crlIssuer: trusted.crl.issuer,
        crlSignatureVerified: trusted.crlSignatureVerified,
        notAfter: examined.notAfter.toISOString(),
        lintWarnings: examined.lintWarnings.map((f) => f.code),
      };
      await tx.certificateEvent.create({ data: { certificateId: certificate.id, at: now, type: 'certificate.imported', details } });
      await this.audit.record(actor, {
        action: 'certificate.imported', subjectType: 'certificate', subjectId: certificate.id,
        details: { ...details, providerId: request.providerId, ocn: request.ocn, stiCaId, fingerprintSha256: examined.fingerprintSha256 },
      }, tx);
      return certificate.id;
    });
    this.worker.kick();
    return { certificate: await this.certificates.get(certificateId), lintWarnings: examined.lintWarnings };
  }

  /** Seals the key under the current KEK, bound to its future row (same as keys we generate). */
  private async seal(examined: ExaminedChain, privateKeyPem: string): Promise<SealedKey> {
    const pkcs8 = await matchingPkcs8(examined.leaf, privateKeyPem);
    try {
      const id = randomUUID();
      return {
        id,
        publicKeySpki: new Uint8Array(examined.leaf.publicKey.rawData),
        fingerprint: examined.publicKeyFingerprint,
        sealed: new Uint8Array(this.keystore.sealPrivateKey(pkcs8, privateKeyAad(id))),
        kekId: this.keystore.currentKekId,
      };
    } finally {
      pkcs8.fill(0);
    }
  }

  /**
   * STIR-SHAKEN.md §4 for a certificate we did not order: the chain must reach a root on the
   * STI-PA CA list and nothing on it be on the STI-PA CRL, read with the provider's STI-PA API
   * user, so the list is the one of its environment. Refusals are 422s with the check's code
   * (CERT.UNTRUSTED_CHAIN, CERT.REVOKED, CRL.*); an STI-PA that cannot be read is a 503.
   */
  private async checkTrust(examined: ExaminedChain, request: CertificateImport): Promise<TrustedCertificate> {
    const account = await this.stiPaAccountOf(request.providerId);
    try {
      return await this.trustCheck.check({
        chain: examined.chainPem,
        publicKey: new Uint8Array(examined.leaf.publicKey.rawData),
        spc: request.ocn,
        account,
      });
    } catch (error) {
      if (isShakenError(error)) throw invalid(error.code, `the certificate may not be used: ${error.message}`);
      if (isStiPaError(error)) {
        throw new DomainError(error.code, 503, `the STI-PA CA list and CRL could not be read to check the certificate (${error.message}); try again later`);
      }
      throw error;
    }
  }

  private async stiPaAccountOf(providerId: string): Promise<StiPaAccount> {
    const provider = await this.prisma.provider.findUnique({ where: { id: providerId }, include: { stiPaAccount: true } });
    if (!provider) throw notFound('PROVIDER.NOT_FOUND', `no provider ${providerId}`);
    if (!provider.stiPaAccount) {
      throw invalid('PROVIDER.STI_PA_ACCOUNT_MISSING', `provider ${providerId} has no STI-PA API user; the STI-PA CA list and CRL every certificate is checked against are read with it (PUT /api/v1/providers/{id}/sti-pa-account)`);
    }
    return provider.stiPaAccount;
  }

  /**
   * The key row. A key the service already holds is reused only when it already serves a
   * certificate of this provider's OCN (a certificate obtained elsewhere for a key this service
   * generated). Issue 7: a signer must never get another provider's key by any route, and a
   * certificate is no proof of holding its key (anyone can certify a public key they read at an
   * x5u), so any other certificate needs privateKeyPem, which proves possession; a key that
   * already serves another provider or OCN is not shared even then. A certificate whose key the
   * service holds nowhere cannot be managed: signers would get a certificate without its key.
   */
  private async keyFor(tx: Tx, examined: ExaminedChain, sealed: SealedKey | undefined, scope: { providerId: string; ocnId: string; ocn: string }): Promise<string> {
    const held = await tx.privateKey.findUnique({ where: { fingerprint: examined.publicKeyFingerprint }, select: { id: true, purpose: true, destroyedAt: true } });
    if (!held) {
      if (!sealed) throw keyRequired(scope.ocn);
      await tx.privateKey.create({ data: { ...sealed, purpose: 'certificate', algorithm: 'ES256', custody: 'software' } });
      return sealed.id;
    }
    if (held.purpose !== 'certificate') throw invalid('IMPORT.KEY_PURPOSE', `the certificate's key ${held.id} is an ACME account key; a certificate key must be its own`);
    const inScope = await tx.certificate.findFirst({ where: { keyId: held.id, providerId: scope.providerId, ocnId: scope.ocnId }, select: { id: true } });
    if (!inScope && !sealed) throw keyRequired(scope.ocn);
    if (!inScope && (await tx.certificate.findFirst({ where: { keyId: held.id }, select: { id: true } }))) {
      throw conflict('IMPORT.KEY_IN_USE', "the certificate's key already serves another provider's or OCN's certificates; a certificate key belongs to one provider's OCN, so certify a key of its own");
    }
    if (held.destroyedAt) throw invalid('KEY.DESTROYED', `the certificate's key ${held.id} was destroyed; it cannot sign again`);
    // Not yet destroyed but already condemned: a certificate of it was revoked (or is being
    // revoked) for keyCompromise, by us or on the STI-PA CRL. RFC 5280 §5.3.1: the key must be
    // presumed in other hands, so no new certificate of it becomes the OCN's, however it came.
    if (await keyRetired(tx, held.id)) {
      throw invalid(KEY_RETIRED, `the certificate's key ${held.id} is retired: a certificate holding it was revoked for keyCompromise (or its revocation is pending); certify a new key`);
    }
    return held.id;
  }

  /** Provider, OCN and STI-CA as for a new order (the same codes as POST /certificates). */
  private async checkTarget(tx: Tx, request: CertificateImport): Promise<{ ocnId: string; stiCaId: string }> {
    const provider = await tx.provider.findUnique({ where: { id: request.providerId } });
    if (!provider) throw notFound('PROVIDER.NOT_FOUND', `no provider ${request.providerId}`);
    const ocn = await tx.ocn.findUnique({ where: { code: request.ocn } });
    if (!ocn) throw notFound('OCN.NOT_FOUND', `OCN ${request.ocn} is not onboarded; POST /api/v1/providers/{id}/ocns first`);
    if (ocn.providerId !== provider.id) throw conflict('OCN.BELONGS_TO_OTHER_PROVIDER', `OCN ${request.ocn} belongs to another provider`);
    if (provider.signingSuspendedAt) {
      throw conflict('PROVIDER.SIGNING_SUSPENDED', `provider ${provider.id} must not sign calls (${provider.signingSuspendedReason ?? 'suspended'}); no certificate is activated for it`);
    }
    let stiCaId = request.stiCaId;
    if (stiCaId === undefined) {
      const cas = await tx.stiCa.findMany({ select: { id: true }, take: 2 });
      if (cas.length !== 1) {
        throw invalid('IMPORT.STI_CA_REQUIRED', cas.length === 0
          ? 'no STI-CA is registered; POST /api/v1/sti-cas first (renewals of this certificate are ordered there)'
          : 'several STI-CAs are registered; name the one renewals go to in stiCaId');
      }
      stiCaId = cas[0]!.id;
    } else if (!(await tx.stiCa.findUnique({ where: { id: stiCaId }, select: { id: true } }))) {
      throw notFound('STI_CA.NOT_FOUND', `no STI-CA ${stiCaId}`);
    }
    // One in-flight order per OCN and STI-CA (procurement's rule); the row lock makes concurrent
    // requests for the OCN take turns.
    await tx.$queryRaw`SELECT id FROM ocns WHERE id = ${ocn.id}::uuid FOR UPDATE`;
    const inFlight = await tx.certificate.findFirst({
      where: { ocnId: ocn.id, stiCaId, order: { state: { in: [...IN_FLIGHT_ORDER_STATES] } } },
      select: { id: true },
    });
    if (inFlight) {
      throw new DomainError('CERTIFICATE.ORDER_IN_FLIGHT', 409, `certificate ${inFlight.id} is already being ordered for OCN ${ocn.code} from this STI-CA`, { certificateId: inFlight.id });
    }
    return { ocnId: ocn.id, stiCaId };
  }
}

function keyRequired(ocn: string): DomainError {
  return invalid('IMPORT.KEY_REQUIRED', `this service holds no key of OCN ${ocn}'s certificates for the certificate's public key; send it as privateKeyPem`);
}
