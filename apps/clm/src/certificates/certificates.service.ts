import { Injectable } from '@nestjs/common';
import { type Prisma, PrismaService } from '@app/db';
import { Clock } from '../common/clock.js';
import { notFound } from '../common/domain-error.js';
import { toCertificateView, type CertificateView } from './certificate-views.js';
import type { ListCertificatesQueryDto } from './certificates.dto.js';

const LIST_LIMIT = 500;

/** Reads certificates for the admin API; every change goes through procurement and its ledger. */
@Injectable()
export class CertificatesService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly clock: Clock,
  ) {}

  async get(id: string): Promise<CertificateView> {
    const row = await this.prisma.certificate.findUnique({
      where: { id },
      include: { ocn: true, stiCa: true, order: true, events: { orderBy: [{ at: 'asc' }, { seq: 'asc' }] } },
    });
    if (!row) throw notFound('CERTIFICATE.NOT_FOUND', `no certificate ${id}`);
    return toCertificateView(row, this.clock.now());
  }

  async list(query: ListCertificatesQueryDto): Promise<CertificateView[]> {
    const where: Prisma.CertificateWhereInput = {
      ...(query.ocn ? { ocn: { code: query.ocn } } : {}),
      ...(query.state ? { status: query.state } : {}),
      ...(query.providerId ? { providerId: query.providerId } : {}),
    };
    const rows = await this.prisma.certificate.findMany({
      where,
      include: { ocn: true, stiCa: true, order: true },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take: LIST_LIMIT,
    });
    const now = this.clock.now();
    return rows.map((row) => toCertificateView(row, now));
  }
}
