import { Injectable } from '@nestjs/common';
import { type Prisma, PrismaService } from '@app/db';
import { notFound } from '../common/domain-error.js';
import { toPublicationView, type PublicationView } from './publication-views.js';
import type { ListPublicationsQueryDto } from './publications.dto.js';

const LIST_LIMIT = 500;

/** Reads publications for the admin API; writes go through the publisher, probe and clean-up. */
@Injectable()
export class PublicationsService {
  constructor(private readonly prisma: PrismaService) {}

  async list(query: ListPublicationsQueryDto): Promise<PublicationView[]> {
    const where: Prisma.PublicationWhereInput = {
      ...(query.certificateId ? { certificateId: query.certificateId } : {}),
      // Failing: what verifiers cannot use now. A removed object is gone on purpose.
      ...(query.failing === true ? { lastCheckOk: false, removedAt: null } : {}),
      ...(query.failing === false ? { OR: [{ lastCheckOk: { not: false } }, { lastCheckOk: null }, { removedAt: { not: null } }] } : {}),
    };
    const rows = await this.prisma.publication.findMany({ where, orderBy: [{ publishedAt: 'desc' }, { id: 'asc' }], take: LIST_LIMIT });
    return rows.map(toPublicationView);
  }

  async get(id: string): Promise<PublicationView> {
    const row = await this.prisma.publication.findUnique({ where: { id } });
    if (!row) throw notFound('PUBLICATION.NOT_FOUND', `no publication ${id}`);
    return toPublicationView(row);
  }
}
