import { Inject, Injectable } from '@nestjs/common';
import { isAcmeError, AcmeErrorCode } from '@app/acme';
import { PrismaService } from '@app/db';
import type { Keystore } from '@app/keystore';
import { parseCertificateChain } from '@app/shaken';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainError } from '../common/domain-error.js';
import { KEYSTORE } from '../config/config.module.js';
import { openKeyPair } from '../procurement/key-material.js';
import { StiClients } from '../procurement/sti-clients.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';
import { RenewalErrorCode } from './renewal-errors.js';
import { revocationReasonCode, type SubscriberRevocationReason } from './revocation-reasons.js';

export const REVOCABLE = ['active', 'superseded'] as const;
export type RevocableStatus = (typeof REVOCABLE)[number];

export type RevocableCertificate = NonNullable<Awaited<ReturnType<CertificateRevoker['load']>>>;

export interface RevocationJournal {
  readonly reason: SubscriberRevocationReason;
  readonly replace: boolean;
  readonly replacementId?: string;
  readonly graceHours?: number;
  readonly sameKeyAs?: string;
}

/**
 * The three steps of revoking one certificate (issue 5), shared by operator revocations and key
 * retirement: the `revocation.requested` journal entry (so a crash is finished later), the ACME
 * revokeCert (RFC 8555 §7.6) with an RFC 5280 reason, and the `revoked` state with its timeline
 * entry and certificate.revoked event.
 */
@Injectable()
export class CertificateRevoker {
  constructor(
    private readonly prisma: PrismaService,
    private readonly clients: StiClients,
    private readonly events: LifecycleEvents,
    private readonly auditLog: AuditService,
    private readonly clock: Clock,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  load(id: string) {
    return this.prisma.certificate.findUnique({ where: { id }, include: { ocn: true, stiCa: true, key: true } });
  }

  /** The `revocation.requested` marker completePendingRevocations works from, with its audit row. */
  async journalRequest(certificate: RevocableCertificate, details: RevocationJournal, actor: AuditActor): Promise<void> {
    await this.prisma.transaction(async (tx) => {
      await tx.certificateEvent.create({ data: { certificateId: certificate.id, at: this.clock.now(), type: 'revocation.requested', details: { ...details } } });
      await this.auditLog.record(actor, { action: 'certificate.revocation_requested', subjectType: 'certificate', subjectId: certificate.id, details: { ...details } }, tx);
    });
  }

  /** RFC 8555 §7.6: signed by the ordering account, or by the certificate's own key when we have no account there. */
  async revokeAtCa(certificate: RevocableCertificate, reason: SubscriberRevocationReason): Promise<void> {
    const [leaf] = parseCertificateChain(certificate.chainPem!);
    const account = await this.prisma.acmeAccount.findUnique({
      where: { stiCaId_providerId: { stiCaId: certificate.stiCaId, providerId: certificate.providerId } },
      include: { key: true },
    });
    const useAccount = account?.status === 'valid' && account.accountUrl !== null;
    const certificateKey = useAccount ? undefined : await openKeyPair(this.keystore, certificate.key);
    const client = useAccount
      ? this.clients.acme(certificate.stiCa, await openKeyPair(this.keystore, account.key), account.accountUrl)
      : this.clients.acme(certificate.stiCa, certificateKey!);
    try {
      await client.revokeCertificate(new Uint8Array(leaf!.rawData), {
        reason: revocationReasonCode(reason),
        ...(certificateKey ? { certificateKey } : {}),
      });
    } catch (error) {
      // Revoked before (by us on another replica, or by the CA): the outcome we want.
      if (isAcmeError(error) && error.code === AcmeErrorCode.ALREADY_REVOKED) return;
      const code = (error as { code?: string }).code ?? 'INTERNAL';
      throw new DomainError(RenewalErrorCode.REVOCATION_FAILED, 502, `${certificate.stiCa.name} did not revoke certificate ${certificate.id}: ${code}: ${(error as Error).message}`.slice(0, 1_000), { caCode: code });
    } finally {
      await client.close();
    }
  }

  /** Compare-and-set on the status, so two replicas completing the same revocation report it once. */
  async markRevoked(certificate: RevocableCertificate, reason: string, actor: AuditActor, source: string): Promise<boolean> {
    const now = this.clock.now();
    return this.prisma.transaction(async (tx) => {
      const { count } = await tx.certificate.updateMany({
        where: { id: certificate.id, status: { in: [...REVOCABLE] } },
        data: { status: 'revoked', revokedAt: now, revocationReason: reason },
      });
      if (count === 0) return false;
      await tx.certificateEvent.create({ data: { certificateId: certificate.id, at: now, type: 'certificate.revoked', details: { reason, source, was: certificate.status } } });
      await this.events.emit(tx, {
        type: 'certificate.revoked',
        subject: { type: 'certificate', id: certificate.id },
        data: { ocn: certificate.ocn.code, serial: certificate.serial, reason, source, wasActive: certificate.status === 'active' },
        actor,
      });
      return true;
    });
  }
}
