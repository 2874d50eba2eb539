import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type CertificateOrderKind, type KeyRotation, type Tx } from '@app/db';
import type { Keystore } from '@app/keystore';
import { isShakenError, shakenSubjectName } from '@app/shaken';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { conflict, DomainError, invalid, notFound } from '../common/domain-error.js';
import { KEYSTORE } from '../config/config.module.js';
import { HaltTestHook } from './halt-test-hook.js';
import { keyRetired } from './key-retirement.js';
import { newSealedP256Key } from './key-material.js';
import { INITIAL_CERTIFICATE_STATUS, IN_FLIGHT_ORDER_STATES } from './order-states.js';
import { OrderWorker } from './order-worker.js';

export interface CertificateRequest {
  readonly providerId: string;
  /** The OCN (SPC) the certificate is for; it must belong to the provider. */
  readonly ocn: string;
  readonly stiCaId: string;
  /** Requested validity (newOrder notAfter); default the STI-CA's setting, else the CA decides. */
  readonly validityDays?: number;
}

export interface RenewalOptions {
  /** Overrides the validity the renewed certificate had asked for. */
  readonly validityDays?: number;
  /** A new key whatever the key rotation says (the renewed certificate was revoked); required to renew a `revoked` one. */
  readonly freshKey?: boolean;
}

/** lastErrorCode of an order ended by cancelOrder rather than by a failure of its own. */
export const ORDER_CANCELLED = 'CERTIFICATE_ORDER.CANCELLED';

export interface StartedOrder {
  readonly certificateId: string;
  readonly orderId: string;
}

interface NewOrder {
  readonly kind: CertificateOrderKind;
  readonly providerId: string;
  readonly ocn: string;
  readonly stiCaId: string;
  readonly validityDays: number | null;
  readonly renewBeforeDays: number | null;
  readonly keyRotation: KeyRotation | null;
  readonly renewedFromId: string | null;
  /** Reuse this certificate key (key rotation `never`) instead of generating one. */
  readonly reuseKeyId: string | null;
}

/**
 * Where certificate orders begin: a new certificate for an OCN (POST /api/v1/certificates) or
 * the renewal of an existing one (the renewal feature calls `requestRenewal`). Both check the
 * same things, persist the certificate, its key and its order in one transaction in state
 * `key_generated`, and wake the worker; everything after that is the state machine's.
 */
@Injectable()
export class ProcurementService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly worker: OrderWorker,
    private readonly hook: HaltTestHook,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  requestCertificate(request: CertificateRequest, actor: AuditActor): Promise<StartedOrder> {
    return this.start({
      kind: 'issue',
      providerId: request.providerId,
      ocn: request.ocn,
      stiCaId: request.stiCaId,
      validityDays: request.validityDays ?? null,
      renewBeforeDays: null,
      keyRotation: null,
      renewedFromId: null,
      reuseKeyId: null,
    }, actor);
  }

  /**
   * Starts the order that renews `certificateId`: same provider, OCN and STI-CA, the same
   * per-certificate policy, a new key unless key rotation (the certificate's, else the CA's) is
   * `never` and the key is still trustworthy (keyRetired). The renewed certificate stays active
   * until the new one is checked, published and activated (then it becomes `superseded`).
   */
  async requestRenewal(certificateId: string, actor: AuditActor, options: RenewalOptions = {}): Promise<StartedOrder> {
    const current = await this.prisma.certificate.findUnique({ where: { id: certificateId }, include: { ocn: true, stiCa: true } });
    if (!current) throw notFound('CERTIFICATE.NOT_FOUND', `no certificate ${certificateId}`);
    // A revoked certificate is renewed only to replace it (the renewal scan's revokedUnreplaced),
    // and never with its key: the CA has withdrawn it, so nothing of it is carried forward.
    const replacingRevoked = current.status === 'revoked' && options.freshKey === true;
    if (!['active', 'superseded', 'expired'].includes(current.status) && !replacingRevoked) {
      throw conflict('CERTIFICATE.NOT_RENEWABLE', `certificate ${certificateId} is ${current.status}; only issued certificates are renewed (a revoked one only with a new key)`);
    }
    const rotation = current.keyRotation ?? current.stiCa.keyRotation;
    return this.start({
      kind: 'renew',
      providerId: current.providerId,
      ocn: current.ocn.code,
      stiCaId: current.stiCaId,
      validityDays: options.validityDays ?? current.validityDays,
      renewBeforeDays: current.renewBeforeDays,
      keyRotation: current.keyRotation,
      renewedFromId: current.id,
      reuseKeyId: rotation === 'never' && !options.freshKey && !(await keyRetired(this.prisma, current.keyId)) ? current.keyId : null,
    }, actor);
  }

  /**
   * Ends an order still in flight (`failed`, lastErrorCode CERTIFICATE_ORDER.CANCELLED) and its
   * certificate, e.g. a renewal that would reuse a compromised key. A worker holding its lease
   * loses it at its next transition (the ledger moves orders by compare-and-set on the state).
   * False when the order had already ended.
   */
  async cancelOrder(certificateId: string, reason: string, actor: AuditActor): Promise<boolean> {
    return this.prisma.transaction(async (tx) => {
      const now = this.clock.now();
      const { count } = await tx.certificateOrder.updateMany({
        where: { certificateId, state: { in: [...IN_FLIGHT_ORDER_STATES] } },
        data: { state: 'failed', lastError: reason.slice(0, 1_000), lastErrorCode: ORDER_CANCELLED, lockedBy: null, lockedUntil: null },
      });
      if (count === 0) return false;
      await tx.certificate.update({ where: { id: certificateId }, data: { status: 'failed' } });
      await tx.certificateEvent.create({ data: { certificateId, at: now, type: 'order.cancelled', details: { reason } } });
      await this.audit.record(actor, { action: 'certificate.order_cancelled', subjectType: 'certificate', subjectId: certificateId, details: { reason } }, tx);
      return true;
    });
  }

  private async start(request: NewOrder, actor: AuditActor): Promise<StartedOrder> {
    // Generated before the transaction (it is CPU work) and only stored if the order is accepted.
    const key = request.reuseKeyId ? null : await newSealedP256Key(this.keystore, 'certificate');
    const started = await this.prisma.transaction(async (tx) => {
      const { ocnId } = await this.checkRequest(tx, request);
      if (key) await tx.privateKey.create({ data: key });
      const keyId = key?.id ?? (request.reuseKeyId as string);
      const now = this.clock.now();
      const certificate = await tx.certificate.create({
        data: {
          providerId: request.providerId,
          ocnId,
          stiCaId: request.stiCaId,
          keyId,
          status: INITIAL_CERTIFICATE_STATUS,
          validityDays: request.validityDays,
          renewBeforeDays: request.renewBeforeDays,
          keyRotation: request.keyRotation,
          renewedFromId: request.renewedFromId,
        },
      });
      const order = await tx.certificateOrder.create({
        data: { certificateId: certificate.id, kind: request.kind, state: 'key_generated', nextAttemptAt: now },
      });
      await tx.certificateEvent.create({
        data: {
          certificateId: certificate.id,
          at: now,
          type: 'order.key_generated',
          details: { orderId: order.id, kind: request.kind, keyId, keyFingerprint: key?.fingerprint ?? null, keyReused: key === null, renewedFromId: request.renewedFromId },
        },
      });
      await this.audit.record(actor, {
        action: request.kind === 'renew' ? 'certificate.renewal_requested' : 'certificate.requested',
        subjectType: 'certificate',
        subjectId: certificate.id,
        details: { orderId: order.id, providerId: request.providerId, ocn: request.ocn, stiCaId: request.stiCaId, validityDays: request.validityDays, keyId, renewedFromId: request.renewedFromId },
      }, tx);
      return { certificateId: certificate.id, orderId: order.id };
    });
    if (!this.hook.fires('after', 'key_generated', started.orderId)) this.worker.kick();
    return started;
  }

  /** The refusals of issue 5, each with its own code; holds the OCN's row lock until commit. */
  private async checkRequest(tx: Tx, request: NewOrder): Promise<{ ocnId: string }> {
    const provider = await tx.provider.findUnique({ where: { id: request.providerId }, include: { stiPaAccount: { select: { id: true } } } });
    if (!provider) throw notFound('PROVIDER.NOT_FOUND', `no provider ${request.providerId}`);
    const ocn = await tx.ocn.findUnique({ where: { code: request.ocn } });
    if (!ocn) throw notFound('OCN.NOT_FOUND', `OCN ${request.ocn} is not onboarded; POST /api/v1/providers/{id}/ocns first`);
    if (ocn.providerId !== provider.id) throw conflict('OCN.BELONGS_TO_OTHER_PROVIDER', `OCN ${request.ocn} belongs to another provider`);
    const stiCa = await tx.stiCa.findUnique({ where: { id: request.stiCaId } });
    if (!stiCa) throw notFound('STI_CA.NOT_FOUND', `no STI-CA ${request.stiCaId}`);
    if (!provider.stiPaAccount) {
      throw invalid('PROVIDER.STI_PA_ACCOUNT_MISSING', `provider ${provider.id} has no STI-PA API user, so no SPC token can be obtained; PUT /api/v1/providers/${provider.id}/sti-pa-account first`);
    }
    if (provider.signingSuspendedAt) {
      throw conflict('PROVIDER.SIGNING_SUSPENDED', `provider ${provider.id} must not sign calls (${provider.signingSuspendedReason ?? 'suspended'}); no certificate is ordered for it`);
    }
    try {
      // ATIS-1000080 v005 §6.4.1: O = legal name, CN = "SHAKEN <SPC>"; refuse now what the CSR would.
      shakenSubjectName(provider.legalName, ocn.code);
    } catch (error) {
      if (isShakenError(error)) throw invalid(error.code, `the provider's legal name cannot be the certificate's O=: ${error.message}`);
      throw error;
    }
    // One in-flight order per OCN and CA. The row lock makes concurrent requests for the same
    // OCN take turns, so two of them cannot both see "none in flight".
    await tx.$queryRaw`SELECT id FROM ocns WHERE id = ${ocn.id}::uuid FOR UPDATE`;
    const inFlight = await tx.certificate.findFirst({
      where: { ocnId: ocn.id, stiCaId: stiCa.id, order: { state: { in: [...IN_FLIGHT_ORDER_STATES] } } },
      select: { id: true },
    });
    if (inFlight) {
      throw new DomainError('CERTIFICATE.ORDER_IN_FLIGHT', 409, `certificate ${inFlight.id} is already being ordered for OCN ${ocn.code} from this STI-CA`, { certificateId: inFlight.id });
    }
    return { ocnId: ocn.id };
  }
}
