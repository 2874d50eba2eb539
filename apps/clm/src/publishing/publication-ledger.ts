import { Injectable } from '@nestjs/common';
import { type Prisma, PrismaService, type Publication } from '@app/db';
import type { LintFinding } from '@app/shaken';
import type { StiCrDriver } from '@app/storage';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import type { VerifierCheckResult } from './verifier-check.js';

const PUBLISHING: AuditActor = { type: 'system', component: 'publishing' };

export interface UploadRecord {
  readonly certificateId: string;
  readonly driver: StiCrDriver;
  readonly storageKey: string;
  readonly url: string;
  readonly removeAfter: Date;
}

/**
 * Every write the publishing feature makes: one Publication row per stored object, the result of
 * each verifier-like check on it, and its removal. A failed check and a recovery also go on the
 * certificate's timeline, so operators see a URL verifiers cannot use next to the certificate.
 */
@Injectable()
export class PublicationLedger {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /**
   * The row for an object just stored (or found already stored: a retry). One row per
   * (driver, key): asking again updates the URL (the public base may have moved) and brings a
   * removed publication back to life, since the object is there again.
   */
  async recordUpload(upload: UploadRecord): Promise<Publication> {
    const now = this.clock.now();
    return this.prisma.publication.upsert({
      where: { driver_storageKey: { driver: upload.driver, storageKey: upload.storageKey } },
      create: { ...upload, publishedAt: now },
      update: { url: upload.url, removeAfter: upload.removeAfter, removedAt: null },
    });
  }

  /** Stores a check's outcome; a failure (and the first success after one) is a certificate event. */
  async recordCheck(publication: Publication, result: VerifierCheckResult, trigger: 'publish' | 'probe' | 'on_demand'): Promise<Publication> {
    return this.prisma.transaction(async (tx) => {
      const updated = await tx.publication.update({
        where: { id: publication.id },
        data: { lastCheckAt: result.checkedAt, lastCheckOk: result.ok, lastCheckFindings: findingsJson(result.findings) },
      });
      const recovered = result.ok && publication.lastCheckOk === false;
      if (!result.ok || recovered) {
        await tx.certificateEvent.create({
          data: {
            certificateId: publication.certificateId,
            at: result.checkedAt,
            type: result.ok ? 'publication.check_recovered' : 'publication.check_failed',
            details: {
              publicationId: publication.id,
              url: publication.url,
              trigger,
              ...(result.status !== undefined ? { status: result.status } : {}),
              errors: result.findings.filter((f) => f.severity === 'error').map((f) => f.code),
            },
          },
        });
      }
      return updated;
    });
  }

  /** The object is gone from the store: the row says when, the certificate's timeline and the audit log say why. */
  async recordRemoval(publication: Publication, reason: string): Promise<void> {
    const now = this.clock.now();
    await this.prisma.transaction(async (tx) => {
      await tx.publication.update({ where: { id: publication.id }, data: { removedAt: now } });
      const details = { publicationId: publication.id, url: publication.url, driver: publication.driver, storageKey: publication.storageKey, reason };
      await tx.certificateEvent.create({ data: { certificateId: publication.certificateId, at: now, type: 'publication.removed', details } });
      await this.audit.record(PUBLISHING, { action: 'publication.removed', subjectType: 'certificate', subjectId: publication.certificateId, details }, tx);
    });
  }
}

function findingsJson(findings: readonly LintFinding[]): Prisma.InputJsonArray {
  return findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message, citation: f.citation }));
}
