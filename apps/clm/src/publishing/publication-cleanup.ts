import { Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { isStorageError, assertSafeStiCrKey } from '@app/storage';
import { Clock } from '../common/clock.js';
import { PublicationLedger } from './publication-ledger.js';
import { StiCrAccess } from './sti-cr-access.js';

export interface CleanupSummary {
  readonly removed: number;
  /** Publications left in place: stored by another driver than the configured one, or the store failed. */
  readonly skipped: { id: string; reason: string }[];
}

/**
 * Removes chains nobody can need any more: the certificate is not the active one and its
 * publication's removeAfter (notAfter + the verifier cache window) has passed. STIR-SHAKEN.md §6:
 * a URL keeps serving until verifiers' caches of it have run out, and the active certificate's
 * URL is never touched, whatever its dates say (an expired active certificate is renewal's
 * problem; signers still point at that URL).
 */
@Injectable()
export class PublicationCleanup {
  private readonly logger = new Logger('PublicationCleanup');

  constructor(
    private readonly prisma: PrismaService,
    private readonly access: StiCrAccess,
    private readonly ledger: PublicationLedger,
    private readonly clock: Clock,
  ) {}

  async removeExpired(): Promise<CleanupSummary> {
    const now = this.clock.now();
    const due = await this.prisma.publication.findMany({
      where: { removedAt: null, removeAfter: { lte: now }, certificate: { status: { not: 'active' } } },
      include: { certificate: { select: { status: true } } },
      orderBy: { removeAfter: 'asc' },
    });
    const { store } = this.access;
    let removed = 0;
    const skipped: CleanupSummary['skipped'] = [];
    for (const { certificate, ...publication } of due) {
      if (publication.driver !== store.driver) {
        skipped.push({ id: publication.id, reason: `stored with the ${publication.driver} driver; the service now uses ${store.driver}` });
        continue;
      }
      try {
        await store.delete(assertSafeStiCrKey(publication.storageKey));
      } catch (error) {
        if (!isStorageError(error)) throw error;
        skipped.push({ id: publication.id, reason: `${error.code}: ${error.message}` });
        continue;
      }
      await this.ledger.recordRemoval(publication, `certificate ${certificate.status}; removeAfter ${publication.removeAfter.toISOString()} passed`);
      removed += 1;
    }
    if (skipped.length > 0) this.logger.warn({ msg: 'some STI-CR objects due for removal were left in place', skipped });
    return { removed, skipped };
  }
}
