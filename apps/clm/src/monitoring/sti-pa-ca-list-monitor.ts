import { Injectable, Logger } from '@nestjs/common';
import { PrismaService, type StiPaAccount } from '@app/db';
import { parseCertificateChain, type X509Certificate } from '@app/shaken';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { StiClients } from '../procurement/sti-clients.js';
import { oneAccountPerStiPa } from './sti-pa-accounts.js';

/** STIR-SHAKEN.md §3: real software refreshes the approved CA list every 24 h (sooner if it expires). */
export const CA_LIST_REFRESH_MS = 24 * 3_600_000;

export interface CaListRefreshResult {
  readonly stiPaBaseUrl: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly sequence?: number;
  readonly trustListSize?: number;
  /** Roots that left the list since the stored one. */
  readonly removed?: number;
  /** Active certificates of ours whose chain ends at a root no longer on the list. */
  readonly activeUntrusted?: number;
}

/**
 * The approved STI-CA list job (issue 5): fetch GET /ca-list from each STI-PA environment we have
 * an API user for, verified by @app/sti-pa (ES256 by the x5u certificate, chain to the pinned
 * STI-PA root, exp), and store it (sti_pa_ca_lists) for readiness and operators. When a root
 * leaves the list, certificates of ours chaining to it can no longer be verified by anyone: the
 * change is audited with their count.
 */
@Injectable()
export class StiPaCaListMonitor {
  private readonly logger = new Logger('StiPaCaList');

  constructor(
    private readonly prisma: PrismaService,
    private readonly clients: StiClients,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async refreshDue(options: { force?: boolean } = {}): Promise<CaListRefreshResult[]> {
    const results: CaListRefreshResult[] = [];
    for (const account of await oneAccountPerStiPa(this.prisma)) {
      if (!options.force && !(await this.isDue(account.baseUrl))) continue;
      results.push(await this.refresh(account));
    }
    return results;
  }

  /** The stored approved roots of one STI-PA environment, parsed; empty when none is stored yet. */
  async storedAnchors(stiPaBaseUrl: string): Promise<X509Certificate[]> {
    const stored = await this.prisma.stiPaCaListSnapshot.findUnique({ where: { stiPaBaseUrl } });
    return stored ? stored.trustListPem.flatMap((pem) => parseCertificateChain(pem)) : [];
  }

  private async isDue(stiPaBaseUrl: string): Promise<boolean> {
    const stored = await this.prisma.stiPaCaListSnapshot.findUnique({ where: { stiPaBaseUrl } });
    if (!stored) return true;
    const now = this.clock.now().getTime();
    return stored.fetchedAt.getTime() + CA_LIST_REFRESH_MS <= now || stored.expiresAt.getTime() <= now;
  }

  private async refresh(account: StiPaAccount): Promise<CaListRefreshResult> {
    const stiPaBaseUrl = account.baseUrl;
    const now = this.clock.now();
    let list;
    try {
      list = await this.clients.stiPa(account).getCaList();
    } catch (error) {
      const message = `${(error as { code?: string }).code ?? 'ERROR'}: ${(error as Error).message}`.slice(0, 1_000);
      await this.prisma.stiPaCaListSnapshot.updateMany({ where: { stiPaBaseUrl }, data: { lastError: message, lastErrorAt: now } });
      this.logger.warn({ msg: 'STI-PA CA list refresh failed; the stored list stays', stiPaBaseUrl, error: message });
      return { stiPaBaseUrl, ok: false, error: message };
    }
    const previous = await this.prisma.stiPaCaListSnapshot.findUnique({ where: { stiPaBaseUrl } });
    const data = {
      version: String(list.version),
      sequence: list.sequence,
      expiresAt: list.expiresAt,
      trustListPem: list.trustListPem,
      fetchedAt: now,
      lastError: null,
      lastErrorAt: null,
    };
    await this.prisma.stiPaCaListSnapshot.upsert({ where: { stiPaBaseUrl }, create: { stiPaBaseUrl, ...data }, update: data });
    const current = new Set(list.trustAnchors.map(fingerprintOf));
    const removed = previous ? previous.trustListPem.flatMap((pem) => parseCertificateChain(pem)).filter((root) => !current.has(fingerprintOf(root))) : [];
    let activeUntrusted = 0;
    if (!previous || previous.sequence !== list.sequence) {
      activeUntrusted = await this.activeOutside(list.trustAnchors);
      await this.audit.record({ type: 'system', component: 'sti-pa-ca-list' }, {
        action: 'sti_pa.ca_list_updated',
        subjectType: 'sti_pa',
        subjectId: stiPaBaseUrl,
        details: { sequence: list.sequence, previousSequence: previous?.sequence ?? null, trustListSize: list.trustAnchors.length, removed: removed.map((root) => root.subject), activeUntrusted },
      });
      if (activeUntrusted > 0) this.logger.warn({ msg: 'active certificates chain to a root no longer on the STI-PA CA list', stiPaBaseUrl, activeUntrusted });
    }
    return { stiPaBaseUrl, ok: true, sequence: list.sequence, trustListSize: list.trustAnchors.length, removed: removed.length, activeUntrusted };
  }

  /** Active certificates whose chain's last certificate was issued by none of `anchors`. */
  private async activeOutside(anchors: readonly X509Certificate[]): Promise<number> {
    const active = await this.prisma.certificate.findMany({ where: { status: 'active', chainPem: { not: null } }, select: { chainPem: true } });
    const subjects = new Set(anchors.map((anchor) => anchor.subject));
    const roots = new Set(anchors.map(fingerprintOf));
    return active.filter(({ chainPem }) => {
      const top = parseCertificateChain(chainPem!).at(-1)!;
      return !roots.has(fingerprintOf(top)) && !subjects.has(top.issuer);
    }).length;
  }
}

function fingerprintOf(certificate: X509Certificate): string {
  return Buffer.from(certificate.rawData).toString('base64');
}
