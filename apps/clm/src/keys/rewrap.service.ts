import { Inject, Injectable } from '@nestjs/common';
import { type Prisma, PrismaService } from '@app/db';
import { isKeystoreError, type Keystore } from '@app/keystore';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { DomainError } from '../common/domain-error.js';
import { KEYSTORE } from '../config/config.module.js';
import { eabHmacAad, privateKeyAad, spcTokenAad, stiPaPasswordAad, webhookSecretAad } from '../common/sealed-secrets.js';

export interface RewrapReport {
  readonly currentKekId: string;
  /** Per kind of secret: how many blobs moved to the current KEK, how many already were there. */
  readonly privateKeys: RewrapCount;
  readonly stiPaPasswords: RewrapCount;
  readonly eabKeys: RewrapCount;
  readonly webhookSecrets: RewrapCount;
  readonly spcTokens: RewrapCount;
}

export interface RewrapCount {
  rewrapped: number;
  alreadyCurrent: number;
  /** Rows whose blob could not be opened (e.g. sealed under a KEK not configured), by id. */
  failed: Array<{ id: string; code: string }>;
}

/**
 * KEK rotation: with the new key as CLM_MASTER_KEY and the old one in CLM_PREVIOUS_MASTER_KEYS,
 * every sealed blob is opened and sealed again under the new key. Each row is updated only if
 * its blob is still the one read (compare-and-set), so a concurrent change is never overwritten
 * with stale material; running it twice is harmless. When it reports nothing left under an old
 * KEK, that key can be retired.
 */
@Injectable()
export class RewrapService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async rewrapAll(actor: AuditActor): Promise<RewrapReport> {
    const report: RewrapReport = {
      currentKekId: this.keystore.currentKekId,
      privateKeys: await this.rewrapPrivateKeys(),
      stiPaPasswords: await this.rewrapColumn(
        () => this.prisma.stiPaAccount.findMany({ select: { providerId: true, passwordSealed: true } }),
        (row) => ({ id: row.providerId, blob: row.passwordSealed, aad: stiPaPasswordAad(row.providerId) }),
        (row, old, fresh) => this.prisma.stiPaAccount.updateMany({ where: { providerId: row.providerId, passwordSealed: { equals: old } }, data: { passwordSealed: fresh } }),
      ),
      eabKeys: await this.rewrapColumn(
        () => this.prisma.stiCa.findMany({ where: { eabHmacSealed: { not: null } }, select: { id: true, eabHmacSealed: true } }),
        (row) => ({ id: row.id, blob: row.eabHmacSealed!, aad: eabHmacAad(row.id) }),
        (row, old, fresh) => this.prisma.stiCa.updateMany({ where: { id: row.id, eabHmacSealed: { equals: old } }, data: { eabHmacSealed: fresh } }),
      ),
      webhookSecrets: await this.rewrapColumn(
        () => this.prisma.webhook.findMany({ select: { id: true, secretSealed: true } }),
        (row) => ({ id: row.id, blob: row.secretSealed, aad: webhookSecretAad(row.id) }),
        (row, old, fresh) => this.prisma.webhook.updateMany({ where: { id: row.id, secretSealed: { equals: old } }, data: { secretSealed: fresh } }),
      ),
      // Expired and refused tokens too: a sealed blob left under a retired KEK would fail to open
      // the day that KEK is gone, and the report would not be able to say "nothing left under it".
      spcTokens: await this.rewrapColumn(
        () => this.prisma.spcToken.findMany({ where: { tokenSealed: { not: null } }, select: { id: true, tokenSealed: true } }),
        (row) => ({ id: row.id, blob: row.tokenSealed!, aad: spcTokenAad(row.id) }),
        (row, old, fresh) => this.prisma.spcToken.updateMany({ where: { id: row.id, tokenSealed: { equals: old } }, data: { tokenSealed: fresh } }),
      ),
    };
    // Recorded whatever the outcome: what moved is part of the history even when some rows could not.
    await this.audit.record(actor, { action: 'keystore.rewrapped', details: JSON.parse(JSON.stringify(report)) as Prisma.InputJsonObject });
    const failed = [report.privateKeys, report.stiPaPasswords, report.eabKeys, report.webhookSecrets, report.spcTokens].reduce((n, c) => n + c.failed.length, 0);
    if (failed > 0) {
      throw new DomainError('KEYSTORE.REWRAP_INCOMPLETE', 409,
        `${failed} sealed secret(s) could not be opened with the configured keys (add the KEK they were sealed under to CLM_PREVIOUS_MASTER_KEYS and run again); the others were rewrapped`,
        { report });
    }
    return report;
  }

  private async rewrapPrivateKeys(): Promise<RewrapCount> {
    return this.rewrapColumn(
      () => this.prisma.privateKey.findMany({
        where: { custody: 'software', destroyedAt: null, sealed: { not: null } },
        select: { id: true, sealed: true },
      }),
      (row) => ({ id: row.id, blob: row.sealed!, aad: privateKeyAad(row.id), privateKey: true }),
      (row, old, fresh) => this.prisma.privateKey.updateMany({
        where: { id: row.id, sealed: { equals: old } },
        data: { sealed: fresh, kekId: this.keystore.currentKekId },
      }),
    );
  }

  private async rewrapColumn<R>(
    load: () => Promise<R[]>,
    blobOf: (row: R) => { id: string; blob: Uint8Array; aad: string; privateKey?: boolean },
    store: (row: R, old: Uint8Array<ArrayBuffer>, fresh: Uint8Array<ArrayBuffer>) => Promise<{ count: number }>,
  ): Promise<RewrapCount> {
    const count: RewrapCount = { rewrapped: 0, alreadyCurrent: 0, failed: [] };
    for (const row of await load()) {
      const { id, blob, aad, privateKey } = blobOf(row);
      try {
        if (!this.keystore.needsRewrap(blob)) {
          count.alreadyCurrent++;
          continue;
        }
        const fresh = privateKey ? this.keystore.rewrapPrivateKey(blob, aad) : this.keystore.rewrap(blob, aad);
        const updated = await store(row, new Uint8Array(blob), new Uint8Array(fresh));
        if (updated.count === 1) count.rewrapped++;
      } catch (error) {
        if (!isKeystoreError(error)) throw error;
        count.failed.push({ id, code: error.code });
      }
    }
    return count;
  }
}
