import { Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '@app/db';
import {
  checkNotRevoked,
  isShakenError,
  namesEqual,
  parseCertificateChain,
  parseCrl,
  verifyCrl,
  type X509Certificate,
  type X509Crl,
} from '@app/shaken';
import { Clock } from '../common/clock.js';
import type { AuditActor } from '../audit/audit.service.js';
import { FreshKeyReplacement } from '../procurement/fresh-key-replacement.js';
import { StiClients } from '../procurement/sti-clients.js';
import { StiPaTrust } from '../procurement/sti-pa-trust.js';
import { KeyRetirement } from '../renewal/key-retirement.service.js';
import { revocationReasonName } from '../renewal/revocation-reasons.js';
import { LifecycleEvents } from '../webhooks/lifecycle-events.service.js';
import { normalizedSerial, oneAccountPerStiPa } from './sti-pa-accounts.js';

const CRL_MONITOR: AuditActor = { type: 'system', component: 'sti-pa-crl' };

/** STIR-SHAKEN.md §3: real software refreshes the STI-PA CRL every 12 h, or at nextUpdate if sooner. */
export const CRL_REFRESH_MS = 12 * 3_600_000;
const PAGE = 1_000;

export interface CrlRefreshResult {
  readonly url: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly revokedEntries?: number;
  readonly signatureVerified?: boolean;
  /** Our certificates newly found on the CRL (now `revoked`). */
  readonly newlyRevoked?: number;
}

/**
 * The STI-PA CRL job (issue 5): download each STI-PA CRL our certificates name, verify it (the
 * pinned CRL signer's signature when configured, and that it is current), store it, and move any
 * active or superseded certificate of ours that it lists (or whose issuing CA it lists) to
 * `revoked` with a certificate.revoked event: signers must stop using it and verifiers will
 * already refuse it (STIR-SHAKEN.md §7).
 */
@Injectable()
export class StiPaCrlMonitor {
  private readonly logger = new Logger('StiPaCrl');

  constructor(
    private readonly prisma: PrismaService,
    private readonly clients: StiClients,
    private readonly trust: StiPaTrust,
    private readonly events: LifecycleEvents,
    private readonly clock: Clock,
    private readonly replacements: FreshKeyReplacement,
    private readonly keys: KeyRetirement,
  ) {}

  /** Refreshes every CRL that is due (or all with `force`). */
  async refreshDue(options: { force?: boolean } = {}): Promise<CrlRefreshResult[]> {
    const results: CrlRefreshResult[] = [];
    for (const { url, account } of await this.crlSources()) {
      if (!options.force && !(await this.isDue(url))) continue;
      results.push(await this.refresh(url, account));
    }
    return results;
  }

  /** Each CRL URL our SPC tokens named, plus each STI-PA's default, with an account to fetch it with. */
  private async crlSources() {
    const accounts = await oneAccountPerStiPa(this.prisma);
    const sources = new Map<string, (typeof accounts)[number]>();
    for (const account of accounts) sources.set(this.clients.stiPa(account).crlUrl, account);
    const named = await this.prisma.spcToken.findMany({ where: { crlUrl: { not: null } }, distinct: ['crlUrl'], select: { crlUrl: true, stiPaAccount: true } });
    for (const token of named) {
      const account = token.stiPaAccount ?? accounts[0];
      if (token.crlUrl && account && !sources.has(token.crlUrl)) sources.set(token.crlUrl, account);
    }
    return [...sources].map(([url, account]) => ({ url, account }));
  }

  private async isDue(url: string): Promise<boolean> {
    const snapshot = await this.prisma.stiPaCrlSnapshot.findUnique({ where: { url } });
    if (!snapshot) return true;
    const now = this.clock.now().getTime();
    return snapshot.fetchedAt.getTime() + CRL_REFRESH_MS <= now || (snapshot.nextUpdate !== null && snapshot.nextUpdate.getTime() <= now);
  }

  private async refresh(url: string, account: Parameters<StiClients['stiPa']>[0]): Promise<CrlRefreshResult> {
    const now = this.clock.now();
    let crl: X509Crl;
    let der: Uint8Array;
    let signatureVerified: boolean;
    try {
      ({ der } = await this.clients.stiPa(account).downloadCrl(url));
      crl = parseCrl(der);
      const signer = this.trust.pinnedCertificates(account).find((candidate) => namesEqual(candidate.subjectName, crl.issuerName));
      if (signer) {
        await verifyCrl(crl, signer, now);
      } else if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < now.getTime()) {
        // No pinned signer: only the HTTPS download from the STI-PA vouches for it, and it must be current.
        throw Object.assign(new Error(`the CRL was due to be replaced at ${crl.nextUpdate.toISOString()}`), { code: 'CRL.EXPIRED' });
      }
      signatureVerified = signer !== undefined;
    } catch (error) {
      const message = `${(error as { code?: string }).code ?? 'ERROR'}: ${(error as Error).message}`.slice(0, 1_000);
      await this.prisma.stiPaCrlSnapshot.updateMany({ where: { url }, data: { lastError: message, lastErrorAt: now } });
      this.logger.warn({ msg: 'STI-PA CRL refresh failed; the last good CRL stays in use', url, error: message });
      return { url, ok: false, error: message };
    }
    const snapshot = {
      issuer: crl.issuer,
      thisUpdate: crl.thisUpdate,
      nextUpdate: crl.nextUpdate ?? null,
      der: new Uint8Array(der),
      signatureVerified,
      revokedCount: crl.entries.length,
      fetchedAt: now,
      lastError: null,
      lastErrorAt: null,
    };
    await this.prisma.stiPaCrlSnapshot.upsert({ where: { url }, create: { url, ...snapshot }, update: snapshot });
    const newlyRevoked = await this.revokeListed(crl, url);
    return { url, ok: true, revokedEntries: crl.entries.length, signatureVerified, newlyRevoked };
  }

  /**
   * Our active and superseded certificates that the CRL lists: by leaf serial, or through an
   * intermediate of their chain. checkNotRevoked confirms each candidate is in the CRL's scope
   * (ATIS-1000080 v005 §6.4.1: the STI-PA CRL is indirect, matched by the CDP's cRLIssuer).
   */
  private async revokeListed(crl: X509Crl, url: string): Promise<number> {
    if (crl.entries.length === 0) return 0;
    const listed = new Set(crl.entries.map((entry) => normalizedSerial(entry.serialNumber)));
    const intermediatesVerdict = new Map<string, boolean>();
    let revoked = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await this.prisma.certificate.findMany({
        where: { status: { in: ['active', 'superseded'] }, chainPem: { not: null }, ...(cursor ? { id: { gt: cursor } } : {}) },
        select: { id: true, serial: true, chainPem: true },
        orderBy: { id: 'asc' },
        take: PAGE,
      });
      if (page.length === 0) return revoked;
      cursor = page.at(-1)!.id;
      for (const row of page) {
        const leafListed = row.serial !== null && listed.has(row.serial);
        const intermediatesKey = row.chainPem!.slice(row.chainPem!.indexOf('-----END CERTIFICATE-----'));
        let issuerListed = intermediatesVerdict.get(intermediatesKey);
        if (issuerListed === undefined) {
          issuerListed = parseCertificateChain(row.chainPem!).slice(1).some((certificate) => listed.has(normalizedSerial(certificate.serialNumber)));
          intermediatesVerdict.set(intermediatesKey, issuerListed);
        }
        if (!leafListed && !issuerListed) continue;
        const finding = this.confirm(parseCertificateChain(row.chainPem!), crl);
        if (!finding || !(await this.markRevoked(row.id, finding, url))) continue;
        revoked += 1;
        if (finding.reason === 'keyCompromise') await this.retireKey(row.id);
      }
    }
  }

  /**
   * The CRL says the key is compromised (RFC 5280 §5.3.1): the same retirement as an operator's
   * keyCompromise revocation (KeyRetirement), after markRevoked started the replacement. A
   * failure (the CA down while revoking a sibling) is logged, not thrown: the revocation is
   * recorded, and RevocationService.completePendingRevocations retires the key at its next run.
   */
  private async retireKey(certificateId: string): Promise<void> {
    try {
      await this.keys.retireKeyOf(certificateId, CRL_MONITOR);
    } catch (error) {
      this.logger.error({ msg: 'the key of a certificate the STI-PA CRL lists as keyCompromise could not be retired yet; the pending-revocations job retries', certificateId, code: (error as { code?: string }).code, reason: (error as Error).message });
    }
  }

  private confirm(chain: X509Certificate[], crl: X509Crl): { reason: string; revokedCertificate: 'leaf' | 'issuer'; revokedAt: string } | undefined {
    for (const [index, certificate] of chain.entries()) {
      try {
        checkNotRevoked([certificate], crl);
      } catch (error) {
        if (!isShakenError(error) || error.code !== 'CERT.REVOKED') throw error;
        const entry = crl.findRevoked(normalizedSerial(certificate.serialNumber));
        return {
          reason: revocationReasonName(entry?.reason),
          revokedCertificate: index === 0 ? 'leaf' : 'issuer',
          revokedAt: entry?.revocationDate.toISOString() ?? this.clock.now().toISOString(),
        };
      }
    }
    return undefined;
  }

  /** Compare-and-set on the status: a certificate is reported once, whichever replica sees it first. */
  private async markRevoked(certificateId: string, finding: NonNullable<ReturnType<StiPaCrlMonitor['confirm']>>, url: string): Promise<boolean> {
    // The OCN's only certificate is unusable now (verifiers refuse it): a replacement is started
    // before the revoked state is recorded, so the alert can name it, and a crash in between
    // finds the replacement in flight at the next run.
    const current = await this.prisma.certificate.findUnique({ where: { id: certificateId }, select: { status: true } });
    const replacement = current?.status === 'active' ? await this.replacements.start(certificateId, 'which the STI-PA CRL lists', CRL_MONITOR) : null;
    const now = this.clock.now();
    return this.prisma.transaction(async (tx) => {
      const before = await tx.certificate.findUnique({ where: { id: certificateId }, include: { ocn: true } });
      if (!before || (before.status !== 'active' && before.status !== 'superseded')) return false;
      const { count } = await tx.certificate.updateMany({
        where: { id: certificateId, status: before.status },
        data: { status: 'revoked', revokedAt: new Date(finding.revokedAt), revocationReason: finding.reason },
      });
      if (count === 0) return false;
      const details = {
        source: 'sti_pa_crl', crlUrl: url, reason: finding.reason, revokedCertificate: finding.revokedCertificate, revokedAt: finding.revokedAt, was: before.status,
        ...(replacement ? { replacement } : {}),
      };
      await tx.certificateEvent.create({ data: { certificateId, at: now, type: 'certificate.revoked', details } });
      await this.events.emit(tx, {
        type: 'certificate.revoked',
        subject: { type: 'certificate', id: certificateId },
        data: { ...details, ocn: before.ocn.code, serial: before.serial, wasActive: before.status === 'active' },
        actor: CRL_MONITOR,
      });
      this.logger.warn({ msg: 'our certificate is on the STI-PA CRL; marked revoked', certificateId, ocn: before.ocn.code, ...details });
      return true;
    });
  }
}
