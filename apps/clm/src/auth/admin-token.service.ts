import { Injectable } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { AuditService } from '../audit/audit.service.js';
import { DomainError, notFound } from '../common/domain-error.js';
import { hashToken, newAdminToken } from './admin-token.codec.js';
import type { AdminActor, AdminRole } from './roles.js';

export interface AdminTokenView {
  id: string;
  name: string;
  role: AdminRole;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface AuthenticatedToken {
  id: string;
  name: string;
  role: AdminRole;
}

@Injectable()
export class AdminTokenService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
  ) {}

  /** Issues a token; the plaintext is returned once and never stored. */
  async create(name: string, role: AdminRole, actor: AdminActor): Promise<{ token: string; view: AdminTokenView }> {
    const token = newAdminToken();
    const view = await this.prisma.transaction(async (tx) => {
      const row = await tx.adminToken.create({ data: { name, role, tokenHash: hashToken(token) } });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'admin_token.created', subjectType: 'admin_token', subjectId: row.id, details: { name, role },
      }, tx);
      return toView(row);
    });
    return { token, view };
  }

  async list(): Promise<AdminTokenView[]> {
    const rows = await this.prisma.adminToken.findMany({ orderBy: { createdAt: 'asc' } });
    return rows.map(toView);
  }

  async revoke(id: string, actor: AdminActor): Promise<AdminTokenView> {
    return this.prisma.transaction(async (tx) => {
      const row = await tx.adminToken.findUnique({ where: { id } });
      if (!row) throw notFound('ADMIN_TOKEN.NOT_FOUND', `no admin token ${id}`);
      if (row.id === actor.tokenId) {
        throw new DomainError('ADMIN_TOKEN.SELF_REVOKE', 409, 'a token cannot revoke itself; use another admin token');
      }
      const updated = row.revokedAt ? row : await tx.adminToken.update({ where: { id }, data: { revokedAt: new Date() } });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'admin_token.revoked', subjectType: 'admin_token', subjectId: id,
      }, tx);
      return toView(updated);
    });
  }

  /** Looks a presented bearer token up by its hash; null when unknown or revoked. */
  async authenticate(presented: string): Promise<AuthenticatedToken | null> {
    const row = await this.prisma.adminToken.findUnique({ where: { tokenHash: hashToken(presented) } });
    if (!row || row.revokedAt) return null;
    // lastUsedAt is a hint for operators, so it is written at most once a minute per token.
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      await this.prisma.adminToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
    }
    return { id: row.id, name: row.name, role: row.role as AdminRole };
  }

  /**
   * First start: with no admin token in the database, create one (from CLM_ADMIN_TOKEN if given)
   * and return its plaintext so the caller can print it once. Returns null when tokens exist.
   * The advisory lock keeps two replicas starting together from creating two.
   */
  async ensureBootstrapToken(configured?: string): Promise<{ token: string; generated: boolean } | null> {
    return this.prisma.transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('shaken-clm.bootstrap-admin-token'))`;
      if ((await tx.adminToken.count()) > 0) return null;
      const token = configured ?? newAdminToken();
      const row = await tx.adminToken.create({ data: { name: 'bootstrap', role: 'admin', tokenHash: hashToken(token) } });
      await this.audit.record({ type: 'system', component: 'bootstrap' }, {
        action: 'admin_token.created', subjectType: 'admin_token', subjectId: row.id,
        details: { name: 'bootstrap', role: 'admin', source: configured ? 'CLM_ADMIN_TOKEN' : 'generated' },
      }, tx);
      return { token, generated: configured === undefined };
    });
  }
}

function toView(row: { id: string; name: string; role: string; createdAt: Date; lastUsedAt: Date | null; revokedAt: Date | null }): AdminTokenView {
  return { id: row.id, name: row.name, role: row.role as AdminRole, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt, revokedAt: row.revokedAt };
}
