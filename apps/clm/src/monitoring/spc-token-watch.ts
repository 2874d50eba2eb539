import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { Clock } from '../common/clock.js';
import { REFUSED_RECHECK_MS } from '../procurement/token-refusal.js';
import { SpcTokenProbe } from './spc-token-probe.js';

/** Renewals this close get a token fetched ahead, so a refusal shows before the renewal needs one. */
const AHEAD_OF_RENEWAL_MS = 7 * 86_400_000;

export interface SpcTokenWatchSummary {
  readonly expiredTokens: number;
  readonly probed: number;
  readonly ok: number;
  readonly refused: number;
  readonly failing: number;
}

/**
 * The SPC token job (issue 5): stored tokens past their exp become `expired`; providers with a
 * renewal within a week and no usable token get one now (stored for the renewal), and every OCN
 * flagged as refused is asked again once a day (REFUSED_RECHECK_MS) so its flag clears when the
 * STI-PA relents. Refusals are per OCN, so each flagged OCN is asked about itself.
 */
@Injectable()
export class SpcTokenWatch {
  constructor(
    private readonly prisma: PrismaService,
    private readonly probe: SpcTokenProbe,
    private readonly clock: Clock,
  ) {}

  async run(): Promise<SpcTokenWatchSummary> {
    const now = this.clock.now();
    const { count: expiredTokens } = await this.prisma.spcToken.updateMany({ where: { status: 'valid', expiresAt: { lte: now } }, data: { status: 'expired' } });
    const targets = new Map<string, { providerId: string; ocn: string }>();

    const upcoming = await this.prisma.certificate.findMany({
      where: {
        status: 'active',
        renewAt: { lte: new Date(now.getTime() + AHEAD_OF_RENEWAL_MS) },
        provider: { stiPaAccount: { isNot: null } },
        // A flagged OCN is asked by the daily recheck below, not on every run.
        ocn: { tokenRefusedAt: null, spcTokens: { none: { status: 'valid', ca: false, expiresAt: { gt: new Date(now.getTime() + 3_600_000) } } } },
      },
      select: { providerId: true, ocn: { select: { code: true } } },
    });
    for (const c of upcoming) targets.set(c.ocn.code, { providerId: c.providerId, ocn: c.ocn.code });

    const flagged = await this.prisma.ocn.findMany({
      where: { tokenRefusedAt: { lte: new Date(now.getTime() - REFUSED_RECHECK_MS) }, provider: { stiPaAccount: { isNot: null } } },
      select: { providerId: true, code: true },
      orderBy: { code: 'asc' },
    });
    for (const ocn of flagged) targets.set(ocn.code, { providerId: ocn.providerId, ocn: ocn.code });

    const counts = { ok: 0, refused: 0, failing: 0 };
    for (const { providerId, ocn } of targets.values()) {
      const result = await this.probe.probe(providerId, ocn, { reuseStored: false });
      if (result.status === 'ok') counts.ok += 1;
      else if (result.status === 'failing' && result.refused) counts.refused += 1;
      else counts.failing += 1;
    }
    return { expiredTokens, probed: targets.size, ...counts };
  }
}
