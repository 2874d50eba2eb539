import { Injectable } from '@nestjs/common';
import { PrismaService, type Tx } from '@app/db';
import { AuditService } from '../audit/audit.service.js';
import type { AdminActor } from '../auth/roles.js';
import { Clock } from '../common/clock.js';
import { conflict, invalid, notFound } from '../common/domain-error.js';
import { HandOffState } from './hand-off-state.js';
import { hashSignerCredential, newSignerCredential } from './signer-credential.js';

export interface SignerView {
  id: string;
  name: string;
  ocns: string[];
  createdAt: Date;
  disabledAt: Date | null;
  lastSeenAt: Date | null;
}

/** A view plus the credential: returned once, at creation and rotation, never stored. */
export interface SignerWithCredential extends SignerView {
  credential: string;
}

const WITH_SCOPES = { scopes: { select: { ocn: { select: { code: true } } } } } as const;

/**
 * Signer clients (admin API): who may pull which OCNs' keys. Every change is audited in its
 * transaction. After it commits, this replica's hand-off view is reloaded before the call
 * returns (so the admin's next request already sees the change here); other replicas reload on
 * the NOTIFY the database sends at commit (migration signer_hand_off_notify).
 */
@Injectable()
export class SignerClientsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly handOff: HandOffState,
  ) {}

  async create(input: { name: string; ocns: readonly string[] }, actor: AdminActor): Promise<SignerWithCredential> {
    const credential = newSignerCredential();
    const view = await this.prisma.transaction(async (tx) => {
      if (await tx.signerClient.findUnique({ where: { name: input.name }, select: { id: true } })) {
        throw conflict('SIGNER.NAME_TAKEN', `a signer named "${input.name}" exists`);
      }
      const ocnIds = await this.ocnIds(tx, input.ocns);
      const row = await tx.signerClient.create({
        data: { name: input.name, credentialHash: hashSignerCredential(credential), scopes: { create: ocnIds.map((ocnId) => ({ ocnId })) } },
        include: WITH_SCOPES,
      });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'signer.created', subjectType: 'signer', subjectId: row.id, details: { name: row.name, ocns: [...input.ocns].sort() },
      }, tx);
      return toView(row);
    });
    await this.handOff.reload();
    return { ...view, credential };
  }

  async list(): Promise<SignerView[]> {
    const rows = await this.prisma.signerClient.findMany({ include: WITH_SCOPES, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    return rows.map(toView);
  }

  async get(id: string): Promise<SignerView> {
    const row = await this.prisma.signerClient.findUnique({ where: { id }, include: WITH_SCOPES });
    if (!row) throw notFound('SIGNER.NOT_FOUND', `no signer ${id}`);
    return toView(row);
  }

  /** A new credential; the old one stops working (on every replica, at the NOTIFY). */
  async rotate(id: string, actor: AdminActor): Promise<SignerWithCredential> {
    const credential = newSignerCredential();
    const view = await this.prisma.transaction(async (tx) => {
      const row = await this.lockSigner(tx, id);
      if (row.disabledAt) throw conflict('SIGNER.DISABLED', `signer ${id} is disabled; create a new signer instead`);
      const updated = await tx.signerClient.update({ where: { id }, data: { credentialHash: hashSignerCredential(credential) }, include: WITH_SCOPES });
      await this.audit.record({ type: 'admin', admin: actor }, { action: 'signer.credential_rotated', subjectType: 'signer', subjectId: id }, tx);
      return toView(updated);
    });
    await this.handOff.reload();
    return { ...view, credential };
  }

  /** Permanent: the credential stops working and cannot be rotated back to life. */
  async disable(id: string, actor: AdminActor): Promise<SignerView> {
    const view = await this.prisma.transaction(async (tx) => {
      const row = await this.lockSigner(tx, id);
      if (row.disabledAt) return toView(row);
      const updated = await tx.signerClient.update({ where: { id }, data: { disabledAt: this.clock.now() }, include: WITH_SCOPES });
      await this.audit.record({ type: 'admin', admin: actor }, { action: 'signer.disabled', subjectType: 'signer', subjectId: id }, tx);
      return toView(updated);
    });
    await this.handOff.reload();
    return view;
  }

  /** Replaces the signer's scope; the audit row names what was added and removed. */
  async setOcns(id: string, ocns: readonly string[], actor: AdminActor): Promise<SignerView> {
    const view = await this.prisma.transaction(async (tx) => {
      const row = await this.lockSigner(tx, id);
      const before = new Set(row.scopes.map((scope) => scope.ocn.code));
      const after = new Set(ocns);
      const ocnIds = await this.ocnIds(tx, ocns);
      const added = [...after].filter((code) => !before.has(code)).sort();
      const removed = [...before].filter((code) => !after.has(code)).sort();
      if (added.length === 0 && removed.length === 0) return toView(row);
      await tx.signerScope.deleteMany({ where: { signerId: id, ocnId: { notIn: ocnIds } } });
      await tx.signerScope.createMany({ data: ocnIds.map((ocnId) => ({ signerId: id, ocnId })), skipDuplicates: true });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'signer.scope_changed', subjectType: 'signer', subjectId: id, details: { added, removed, ocns: [...after].sort() },
      }, tx);
      return toView((await tx.signerClient.findUnique({ where: { id }, include: WITH_SCOPES }))!);
    });
    await this.handOff.reload();
    return view;
  }

  /** Row lock: concurrent changes to one signer take turns. */
  private async lockSigner(tx: Tx, id: string) {
    await tx.$queryRaw`SELECT id FROM signer_clients WHERE id = ${id}::uuid FOR UPDATE`;
    const row = await tx.signerClient.findUnique({ where: { id }, include: WITH_SCOPES });
    if (!row) throw notFound('SIGNER.NOT_FOUND', `no signer ${id}`);
    return row;
  }

  /** Ids of onboarded OCNs, in order; names every code that is not onboarded. */
  private async ocnIds(tx: Tx, codes: readonly string[]): Promise<string[]> {
    const rows = await tx.ocn.findMany({ where: { code: { in: [...codes] } }, select: { id: true, code: true } });
    const byCode = new Map(rows.map((row) => [row.code, row.id]));
    const missing = codes.filter((code) => !byCode.has(code));
    if (missing.length > 0) {
      throw invalid('SIGNER.OCN_UNKNOWN', `OCN(s) not onboarded: ${missing.join(', ')}; POST /api/v1/providers/{id}/ocns first`, { ocns: missing });
    }
    return codes.map((code) => byCode.get(code) as string);
  }
}

function toView(row: { id: string; name: string; createdAt: Date; disabledAt: Date | null; lastSeenAt: Date | null; scopes: { ocn: { code: string } }[] }): SignerView {
  return {
    id: row.id,
    name: row.name,
    ocns: row.scopes.map((scope) => scope.ocn.code).sort(),
    createdAt: row.createdAt,
    disabledAt: row.disabledAt,
    lastSeenAt: row.lastSeenAt,
  };
}
