import { randomUUID, X509Certificate } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type StiCa } from '@app/db';
import type { Keystore } from '@app/keystore';
import { AuditService } from '../audit/audit.service.js';
import type { AdminActor } from '../auth/roles.js';
import { conflict, invalid, notFound } from '../common/domain-error.js';
import { KEYSTORE } from '../config/config.module.js';
import { eabHmacAad } from '../common/sealed-secrets.js';
import type { CreateStiCaDto } from './sti-cas.dto.js';

export interface StiCaView {
  id: string;
  name: string;
  directoryUrl: string;
  eab: { kid: string } | null;
  identifierEncoding: string;
  fingerprintForm: string;
  hasTrustAnchors: boolean;
  validityDays: number | null;
  renewBeforeDays: number | null;
  keyRotation: string;
  createdAt: Date;
}

@Injectable()
export class StiCasService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  async create(input: CreateStiCaDto, actor: AdminActor | null): Promise<StiCaView> {
    if (input.trustAnchors !== undefined) assertPemCertificates(input.trustAnchors);
    if (input.eab && !/^[A-Za-z0-9_-]+={0,2}$/.test(input.eab.hmacKey)) {
      throw invalid('STI_CA.EAB_KEY_INVALID', 'eab.hmacKey must be base64url (RFC 8555 §7.3.4)');
    }
    const id = randomUUID();
    return this.prisma.transaction(async (tx) => {
      if (await tx.stiCa.findUnique({ where: { name: input.name } })) {
        throw conflict('STI_CA.NAME_TAKEN', `an STI-CA named "${input.name}" exists`);
      }
      const row = await tx.stiCa.create({
        data: {
          id,
          name: input.name,
          directoryUrl: input.directoryUrl,
          eabKid: input.eab?.kid,
          eabHmacSealed: input.eab ? new Uint8Array(this.keystore.seal(Buffer.from(input.eab.hmacKey, 'utf8'), eabHmacAad(id))) : undefined,
          identifierEncoding: input.identifierEncoding,
          fingerprintForm: input.fingerprintForm,
          trustAnchorsPem: input.trustAnchors,
          validityDays: input.validityDays,
          renewBeforeDays: input.renewBeforeDays,
          keyRotation: input.keyRotation,
        },
      });
      await this.audit.record(actor ? { type: 'admin', admin: actor } : { type: 'system', component: 'bootstrap' }, {
        action: 'sti_ca.created', subjectType: 'sti_ca', subjectId: id,
        details: { name: input.name, directoryUrl: input.directoryUrl, eab: Boolean(input.eab) },
      }, tx);
      return toView(row);
    });
  }

  async list(): Promise<StiCaView[]> {
    return (await this.prisma.stiCa.findMany({ orderBy: { name: 'asc' } })).map(toView);
  }

  async get(id: string): Promise<StiCaView> {
    const row = await this.prisma.stiCa.findUnique({ where: { id } });
    if (!row) throw notFound('STI_CA.NOT_FOUND', `no STI-CA ${id}`);
    return toView(row);
  }
}

function assertPemCertificates(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw invalid('STI_CA.TRUST_ANCHORS_INVALID', 'trustAnchors must hold one or more PEM certificates');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw invalid('STI_CA.TRUST_ANCHORS_INVALID', 'trustAnchors holds a certificate that does not parse');
    }
  }
}

function toView(row: StiCa): StiCaView {
  return {
    id: row.id,
    name: row.name,
    directoryUrl: row.directoryUrl,
    eab: row.eabKid ? { kid: row.eabKid } : null,
    identifierEncoding: row.identifierEncoding,
    fingerprintForm: row.fingerprintForm,
    hasTrustAnchors: row.trustAnchorsPem !== null,
    validityDays: row.validityDays,
    renewBeforeDays: row.renewBeforeDays,
    keyRotation: row.keyRotation,
    createdAt: row.createdAt,
  };
}
