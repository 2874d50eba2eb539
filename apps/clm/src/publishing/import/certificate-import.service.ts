import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type Tx } from '@app/db';
import type { Keystore } from '@app/keystore';
import type { LintFinding } from '@app/shaken';
import { AuditService, type AuditActor } from '../../audit/audit.service.js';
import type { CertificateView } from '../../certificates/certificate-views.js';
import { CertificatesService } from '../../certificates/certificates.service.js';
import { Clock } from '../../common/clock.js';
import { conflict, DomainError, invalid, notFound } from '../../common/domain-error.js';
import { KEYSTORE } from '../../config/config.module.js';
import { privateKeyAad } from '../../common/sealed-secrets.js';
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
 * existing certificate, checked (imported-chain.ts), its key sealed like our own keys, and then
 * handed to the lifecycle exactly where a procured certificate stands after its checks: status
 * `checked` with an order in state `checked`. The order worker then runs the same named steps as
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
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async import(request: CertificateImport, actor: AuditActor): Promise<ImportedCertificate> {
    const examined = examineImportedChain({ chainPem: request.chainPem, spc: request.ocn, now: this.clock.now() });
    const sealed = request.privateKeyPem === undefined ? undefined : await this.seal(examined, request.privateKeyPem);
    const certificateId = await this.prisma.transaction(async (tx) => {
      const { ocnId, stiCaId } = await this.checkTarget(tx, request);
      const existing = await tx.certificate.findUnique({ where: { fingerprintSha256: examined.fingerprintSha256 }, select: { id: true } });
      if (existing) {
        throw new DomainError('CERTIFICATE.ALREADY_MANAGED', 409, `certificate ${existing.id} is this certificate`, { certificateId: existing.id });
      }
      const keyId = await this.keyFor(tx, examined, sealed);
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
   * The key row: the one we already hold for this public key (a certificate obtained elsewhere
   * for a key this service generated), else the one just sealed. A certificate whose key the
   * service holds nowhere cannot be managed: signers would get a certificate without its key.
   */
  private async keyFor(tx: Tx, examined: ExaminedChain, sealed: SealedKey | undefined): Promise<string> {
    const held = await tx.privateKey.findUnique({ where: { fingerprint: examined.publicKeyFingerprint } });
    if (held) {
      if (held.destroyedAt) throw invalid('KEY.DESTROYED', `the certificate's key ${held.id} was destroyed; it cannot sign again`);
      if (held.purpose !== 'certificate') throw invalid('IMPORT.KEY_PURPOSE', `the certificate's key ${held.id} is an ACME account key; a certificate key must be its own`);
      return held.id;
    }
    if (!sealed) {
      throw invalid('IMPORT.KEY_REQUIRED', "this service does not hold the certificate's private key; send it as privateKeyPem");
    }
    await tx.privateKey.create({ data: { ...sealed, purpose: 'certificate', algorithm: 'ES256', custody: 'software' } });
    return sealed.id;
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
