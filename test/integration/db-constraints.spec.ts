import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaService, type Certificate } from '@app/db';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** What the database says when a statement is refused: SQLSTATE and message. */
async function refusal(url: string, sql: string): Promise<{ code?: string; message: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } catch (error) {
    const e = error as { code?: string; message: string };
    return { code: e.code, message: e.message };
  } finally {
    await client.end();
  }
  throw new Error(`the database accepted: ${sql}`);
}

describe('database rules written in the migration', () => {
  let db: TestDatabase;
  let prisma: PrismaService;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = new PrismaService({ url: db.url });
    await prisma.onModuleInit();
  });
  afterAll(async () => {
    await prisma?.onModuleDestroy();
    await db?.drop();
  });

  /** A provider with one OCN, an STI-CA and a certificate key, made through the Prisma client. */
  async function onboarded(ocnCode: string) {
    const provider = await prisma.provider.create({
      data: { legalName: 'Example Telecom LLC', frn: String(1_000_000_000 + randomBytes(3).readUIntBE(0, 3)), contactEmail: 'noc@example.test' },
    });
    const ocn = await prisma.ocn.create({ data: { code: ocnCode, providerId: provider.id } });
    const stiCa = await prisma.stiCa.create({ data: { name: `ca-${ocnCode}`, directoryUrl: 'https://ca.example.test/dir' } });
    return { provider, ocn, stiCa };
  }

  async function certificateKey() {
    const spki = randomBytes(91);
    return prisma.privateKey.create({
      data: {
        purpose: 'certificate',
        algorithm: 'ES256',
        publicKeySpki: spki,
        fingerprint: randomBytes(32).toString('hex'),
        sealed: randomBytes(150),
        kekId: '0123456789abcdef',
      },
    });
  }

  async function activeCertificate(ids: { providerId: string; ocnId: string; stiCaId: string }): Promise<Certificate> {
    const key = await certificateKey();
    const notAfter = new Date(Date.now() + 90 * 86_400_000);
    return prisma.certificate.create({
      data: {
        ...ids,
        keyId: key.id,
        status: 'active',
        serial: randomBytes(16).toString('hex'),
        fingerprintSha256: randomBytes(32).toString('hex'),
        subject: 'C=US, O=Example Telecom LLC, CN=SHAKEN 818H',
        notBefore: new Date(),
        notAfter,
        chainPem: '-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n',
        x5u: `https://cr.example.test/${randomBytes(8).toString('hex')}.pem`,
        activatedAt: new Date(),
        renewAt: new Date(notAfter.getTime() - 30 * 86_400_000),
      },
    });
  }

  describe('audit log (append-only)', () => {
    it('accepts new events and refuses UPDATE, DELETE and TRUNCATE with a clear error', async () => {
      const event = await prisma.auditEvent.create({
        data: { actorType: 'system', actorId: 'test', action: 'provider.create', subjectType: 'provider', subjectId: 'p1', details: { ok: true } },
      });
      expect(typeof event.id).toBe('bigint');
      expect(event.at).toBeInstanceOf(Date);

      const update = await refusal(db.url, `UPDATE audit_events SET action = 'rewritten' WHERE id = ${event.id}`);
      expect(update).toEqual({ code: '42501', message: 'audit_events is append-only: UPDATE refused' });
      const remove = await refusal(db.url, `DELETE FROM audit_events WHERE id = ${event.id}`);
      expect(remove).toEqual({ code: '42501', message: 'audit_events is append-only: DELETE refused' });
      const truncate = await refusal(db.url, 'TRUNCATE audit_events');
      expect(truncate).toEqual({ code: '42501', message: 'audit_events is append-only: TRUNCATE refused' });

      // Through Prisma as well, and the row is unchanged.
      await expect(prisma.auditEvent.update({ where: { id: event.id }, data: { action: 'x' } })).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(prisma.auditEvent.deleteMany({})).rejects.toThrow(/append-only: DELETE refused/);
      const after = await prisma.auditEvent.findUniqueOrThrow({ where: { id: event.id } });
      expect(after.action).toBe('provider.create');
    });
  });

  describe('one active certificate per OCN (partial unique index)', () => {
    it('refuses a second active certificate for the same OCN', async () => {
      const { provider, ocn, stiCa } = await onboarded('818H');
      const ids = { providerId: provider.id, ocnId: ocn.id, stiCaId: stiCa.id };
      const first = await activeCertificate(ids);
      await expect(activeCertificate(ids)).rejects.toMatchObject({ code: 'P2002' });
      await expect(activeCertificate(ids)).rejects.toThrow(/certificates_one_active_per_ocn|ocn_id/);

      // Superseding the first frees the slot: renewal activates its successor.
      await prisma.certificate.update({ where: { id: first.id }, data: { status: 'superseded', supersededAt: new Date() } });
      const second = await activeCertificate(ids);
      const active = await prisma.certificate.findMany({ where: { ocnId: ocn.id, status: 'active' } });
      expect(active.map((c) => c.id)).toEqual([second.id]);
    });

    it('lets different OCNs each have their active certificate', async () => {
      const a = await onboarded('7A2B');
      const b = await onboarded('7A2C');
      await activeCertificate({ providerId: a.provider.id, ocnId: a.ocn.id, stiCaId: a.stiCa.id });
      await activeCertificate({ providerId: b.provider.id, ocnId: b.ocn.id, stiCaId: b.stiCa.id });
      expect(await prisma.certificate.count({ where: { status: 'active', ocnId: { in: [a.ocn.id, b.ocn.id] } } })).toBe(2);
    });
  });

  describe('record consistency checks', () => {
    it('refuses OCNs that are not four of [0-9A-Z]', async () => {
      const { provider } = await onboarded('1234');
      for (const code of ['818h', '81H', '81-H']) {
        await expect(prisma.ocn.create({ data: { code, providerId: provider.id } })).rejects.toThrow(/ocns_code_format/);
      }
    });

    it('refuses malformed FRN and 499 filer id', async () => {
      await expect(prisma.provider.create({ data: { legalName: 'X', frn: '12345', contactEmail: 'a@b.test' } })).rejects.toThrow(/providers_frn_format/);
      await expect(
        prisma.provider.create({ data: { legalName: 'X', frn: '0012345678', filer499Id: '12a456', contactEmail: 'a@b.test' } }),
      ).rejects.toThrow(/providers_filer_499_id_format/);
    });

    it('refuses an issued certificate without its identity, and an active one without x5u', async () => {
      const { provider, ocn, stiCa } = await onboarded('9Z9Z');
      const key = await certificateKey();
      const base = { providerId: provider.id, ocnId: ocn.id, stiCaId: stiCa.id, keyId: key.id };
      const requested = await prisma.certificate.create({ data: base });
      expect(requested.status).toBe('requested');
      await expect(prisma.certificate.update({ where: { id: requested.id }, data: { status: 'issued' } })).rejects.toThrow(
        /certificates_issued_fields/,
      );
      const active = await activeCertificate({ providerId: provider.id, ocnId: ocn.id, stiCaId: stiCa.id });
      await expect(prisma.certificate.update({ where: { id: active.id }, data: { x5u: null } })).rejects.toThrow(/certificates_active_fields/);
    });

    it('refuses a software key without sealed material', async () => {
      await expect(
        prisma.privateKey.create({
          data: { purpose: 'certificate', algorithm: 'ES256', publicKeySpki: randomBytes(91), fingerprint: randomBytes(32).toString('hex') },
        }),
      ).rejects.toThrow(/private_keys_custody_material/);
    });
  });
});
