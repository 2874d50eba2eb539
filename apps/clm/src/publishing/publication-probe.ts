import { Injectable, Logger } from '@nestjs/common';
import { PrismaService, type Publication } from '@app/db';
import { Clock } from '../common/clock.js';
import { conflict, notFound } from '../common/domain-error.js';
import { PublicationChecker } from './publication-checker.js';
import type { VerifierCheckResult } from './verifier-check.js';

export interface ProbeSummary {
  readonly checked: number;
  readonly failing: number;
  readonly failingIds: string[];
}

/**
 * Re-checks x5u URLs the way verifiers fetch them (STIR-SHAKEN.md §6, §9.2: repositories go bad
 * after the fact: a CDN rule, a new proxy, a bucket policy). Live means: not removed, and the
 * certificate not past its notAfter (after that, verifiers refuse the certificate anyway and the
 * URL only serves out caches until clean-up).
 */
@Injectable()
export class PublicationProbe {
  private readonly logger = new Logger('PublicationProbe');

  constructor(
    private readonly prisma: PrismaService,
    private readonly checker: PublicationChecker,
    private readonly clock: Clock,
  ) {}

  /** The daily run: every live publication, one at a time (a repository is not a load test). */
  async checkAllLive(): Promise<ProbeSummary> {
    const now = this.clock.now();
    const live = await this.prisma.publication.findMany({
      where: { removedAt: null, certificate: { notAfter: { gt: now } } },
      include: { certificate: { select: { chainPem: true } } },
      orderBy: { publishedAt: 'asc' },
    });
    const failingIds: string[] = [];
    for (const { certificate, ...publication } of live) {
      if (!certificate.chainPem) continue;
      const { result } = await this.checker.check(publication, certificate.chainPem, 'probe');
      if (!result.ok) {
        failingIds.push(publication.id);
        this.logger.warn({ msg: 'x5u fails the verifier check', publicationId: publication.id, url: publication.url, errors: errorCodes(result) });
      }
    }
    return { checked: live.length, failing: failingIds.length, failingIds };
  }

  /** On demand (POST /api/v1/publications/{id}/check). */
  async checkOne(id: string): Promise<{ publication: Publication; result: VerifierCheckResult }> {
    const row = await this.prisma.publication.findUnique({ where: { id }, include: { certificate: { select: { chainPem: true } } } });
    if (!row) throw notFound('PUBLICATION.NOT_FOUND', `no publication ${id}`);
    const { certificate, ...publication } = row;
    if (publication.removedAt) throw conflict('PUBLICATION.REMOVED', `publication ${id} was removed from the store at ${publication.removedAt.toISOString()}`);
    if (!certificate.chainPem) throw conflict('PUBLICATION.NO_CHAIN', `the certificate of publication ${id} has no chain`);
    return this.checker.check(publication, certificate.chainPem, 'on_demand');
  }
}

function errorCodes(result: VerifierCheckResult): string[] {
  return result.findings.filter((f) => f.severity === 'error').map((f) => f.code);
}
