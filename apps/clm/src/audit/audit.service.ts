import { Injectable } from '@nestjs/common';
import { PrismaService, type Prisma } from '@app/db';
import type { AdminActor } from '../auth/roles.js';

export interface AuditRecord {
  readonly action: string;
  readonly subjectType?: string;
  readonly subjectId?: string;
  /** Never a secret: callers pass identifiers and outcomes, not key or password material. */
  readonly details?: Prisma.InputJsonValue;
}

export type AuditActor =
  | { readonly type: 'admin'; readonly admin: AdminActor }
  | { readonly type: 'signer'; readonly signerId: string; readonly sourceAddress?: string; readonly correlationId?: string }
  | { readonly type: 'system'; readonly component: string };

/**
 * The append-only audit log (the database refuses UPDATE and DELETE on it). Every admin change
 * and every key hand-out goes through here. Pass a transaction client to make the audit row
 * part of the change it describes, so neither can exist without the other.
 */
@Injectable()
export class AuditService {
  constructor(private readonly prisma: PrismaService) {}

  async record(actor: AuditActor, entry: AuditRecord, tx: Prisma.TransactionClient = this.prisma): Promise<void> {
    await tx.auditEvent.create({
      data: {
        actorType: actor.type,
        actorId: actorId(actor),
        action: entry.action,
        subjectType: entry.subjectType,
        subjectId: entry.subjectId,
        details: entry.details,
        correlationId: actor.type === 'admin' ? actor.admin.correlationId : actor.type === 'signer' ? actor.correlationId : undefined,
        sourceAddress: actor.type === 'admin' ? actor.admin.sourceAddress : actor.type === 'signer' ? actor.sourceAddress : undefined,
      },
    });
  }
}

function actorId(actor: AuditActor): string {
  switch (actor.type) {
    case 'admin': return actor.admin.tokenId;
    case 'signer': return actor.signerId;
    case 'system': return actor.component;
  }
}
