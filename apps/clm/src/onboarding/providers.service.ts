import { Inject, Injectable } from '@nestjs/common';
import { type Prisma, PrismaService } from '@app/db';
import type { Keystore } from '@app/keystore';
import { AuditService } from '../audit/audit.service.js';
import type { AdminActor } from '../auth/roles.js';
import { conflict, notFound } from '../common/domain-error.js';
import { KEYSTORE } from '../config/config.module.js';
import type { AddOcnDto, CreateProviderDto, PutStiPaAccountDto, UpdateProviderDto } from './providers.dto.js';
import { stiPaPasswordAad } from '../common/sealed-secrets.js';

export interface ProviderView {
  id: string;
  legalName: string;
  frn: string;
  filer499Id: string | null;
  rmdNumber: string | null;
  contactEmail: string;
  contacts: unknown;
  ocns: string[];
  stiPaAccount: { environment: string; baseUrl: string; userId: string; lastLoginAt: Date | null; lastError: string | null } | null;
  /**
   * The OCNs the STI-PA currently refuses SPC tokens for (latest refusal each; empty when none).
   * Per OCN because the STI-PA refuses per OCN: the provider's other OCNs may be fine.
   */
  tokenRefusals: { ocn: string; at: Date; code: string | null; reason: string | null }[];
  /** Set by POST /providers/{id}/suspend-signing: signers get nothing for its OCNs until resumed. */
  signingSuspended: { at: Date; reason: string | null } | null;
  createdAt: Date;
  updatedAt: Date;
}

const providerInclude = { ocns: { orderBy: { code: 'asc' } }, stiPaAccount: true } satisfies Prisma.ProviderInclude;
type ProviderRow = Prisma.ProviderGetPayload<{ include: typeof providerInclude }>;

@Injectable()
export class ProvidersService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async create(input: CreateProviderDto, actor: AdminActor): Promise<ProviderView> {
    return this.prisma.transaction(async (tx) => {
      if (await tx.provider.findUnique({ where: { frn: input.frn } })) {
        throw conflict('PROVIDER.FRN_TAKEN', `a provider with FRN ${input.frn} is already onboarded`);
      }
      const row = await tx.provider.create({
        data: {
          legalName: input.legalName,
          frn: input.frn,
          filer499Id: input.filer499Id,
          rmdNumber: input.rmdNumber,
          contactEmail: input.contactEmail,
          contacts: input.contacts ? (input.contacts as unknown as Prisma.InputJsonValue) : undefined,
        },
        include: providerInclude,
      });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'provider.created', subjectType: 'provider', subjectId: row.id,
        details: { legalName: row.legalName, frn: row.frn },
      }, tx);
      return toView(row);
    });
  }

  async list(): Promise<ProviderView[]> {
    const rows = await this.prisma.provider.findMany({ include: providerInclude, orderBy: { legalName: 'asc' } });
    return rows.map(toView);
  }

  async get(id: string): Promise<ProviderView> {
    return toView(await this.findOrThrow(this.prisma, id));
  }

  async update(id: string, input: UpdateProviderDto, actor: AdminActor): Promise<ProviderView> {
    return this.prisma.transaction(async (tx) => {
      await this.findOrThrow(tx, id);
      const row = await tx.provider.update({
        where: { id },
        data: {
          legalName: input.legalName,
          filer499Id: input.filer499Id,
          rmdNumber: input.rmdNumber,
          contactEmail: input.contactEmail,
          contacts: input.contacts ? (input.contacts as unknown as Prisma.InputJsonValue) : undefined,
        },
        include: providerInclude,
      });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'provider.updated', subjectType: 'provider', subjectId: id,
        details: { fields: Object.keys(input) },
      }, tx);
      return toView(row);
    });
  }

  async addOcn(id: string, input: AddOcnDto, actor: AdminActor): Promise<ProviderView> {
    return this.prisma.transaction(async (tx) => {
      await this.findOrThrow(tx, id);
      const existing = await tx.ocn.findUnique({ where: { code: input.ocn } });
      if (existing && existing.providerId !== id) {
        throw conflict('OCN.BELONGS_TO_OTHER_PROVIDER', `OCN ${input.ocn} belongs to another provider`);
      }
      if (!existing) {
        const ocn = await tx.ocn.create({ data: { code: input.ocn, providerId: id } });
        await this.audit.record({ type: 'admin', admin: actor }, {
          action: 'ocn.added', subjectType: 'ocn', subjectId: ocn.id, details: { ocn: input.ocn, providerId: id },
        }, tx);
      }
      return toView(await this.findOrThrow(tx, id));
    });
  }

  /** Creates or replaces the STI-PA API user; the password is sealed and never returned. */
  async putStiPaAccount(id: string, input: PutStiPaAccountDto, actor: AdminActor): Promise<ProviderView> {
    const passwordSealed = this.keystore.seal(Buffer.from(input.password, 'utf8'), stiPaPasswordAad(id));
    return this.prisma.transaction(async (tx) => {
      await this.findOrThrow(tx, id);
      const data = {
        environment: input.environment,
        baseUrl: input.baseUrl.replace(/\/+$/, ''),
        userId: input.userId,
        passwordSealed: new Uint8Array(passwordSealed),
        lastError: null,
      };
      await tx.stiPaAccount.upsert({ where: { providerId: id }, create: { providerId: id, ...data }, update: data });
      await this.audit.record({ type: 'admin', admin: actor }, {
        action: 'sti_pa_account.set', subjectType: 'provider', subjectId: id,
        details: { environment: input.environment, baseUrl: data.baseUrl, userId: input.userId },
      }, tx);
      return toView(await this.findOrThrow(tx, id));
    });
  }

  private async findOrThrow(tx: Prisma.TransactionClient, id: string): Promise<ProviderRow> {
    const row = await tx.provider.findUnique({ where: { id }, include: providerInclude });
    if (!row) throw notFound('PROVIDER.NOT_FOUND', `no provider ${id}`);
    return row;
  }
}

function toView(row: ProviderRow): ProviderView {
  return {
    id: row.id,
    legalName: row.legalName,
    frn: row.frn,
    filer499Id: row.filer499Id,
    rmdNumber: row.rmdNumber,
    contactEmail: row.contactEmail,
    contacts: row.contacts ?? [],
    ocns: row.ocns.map((o) => o.code),
    stiPaAccount: row.stiPaAccount
      ? {
          environment: row.stiPaAccount.environment,
          baseUrl: row.stiPaAccount.baseUrl,
          userId: row.stiPaAccount.userId,
          lastLoginAt: row.stiPaAccount.lastLoginAt,
          lastError: row.stiPaAccount.lastError,
        }
      : null,
    tokenRefusals: row.ocns.flatMap((o) => (o.tokenRefusedAt ? [{ ocn: o.code, at: o.tokenRefusedAt, code: o.tokenRefusalCode, reason: o.tokenRefusedReason }] : [])),
    signingSuspended: row.signingSuspendedAt ? { at: row.signingSuspendedAt, reason: row.signingSuspendedReason } : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
