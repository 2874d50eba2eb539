import { Test } from '@nestjs/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbModule, isDbError, Prisma, PrismaService } from '@app/db';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

async function connectionsTo(serverUrl: string, database: string): Promise<number> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    return Number(result.rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** Resolves for everyone once `parties` callers have arrived (later arrivals pass straight through). */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === parties) open();
    return opened;
  };
}

describe('PrismaService in DbModule', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('connects when the module starts and lets go of every connection when it stops', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DbModule.forRoot({ url: db.url })] }).compile();
    const app = await moduleRef.init();
    const prisma = app.get(PrismaService);
    expect(await prisma.adminToken.count()).toBe(0);
    expect(await connectionsTo(db.url, db.name)).toBeGreaterThan(0);
    await app.close();
    await expect.poll(() => connectionsTo(db.url, db.name), { timeout: 5_000 }).toBe(0);
  });

  describe('transaction()', () => {
    let prisma: PrismaService;
    beforeAll(async () => {
      prisma = new PrismaService({ url: db.url });
      await prisma.onModuleInit();
    });
    afterAll(() => prisma?.onModuleDestroy());

    it('commits everything the callback wrote', async () => {
      await prisma.transaction(async (tx) => {
        await tx.adminToken.create({ data: { name: 'a', role: 'admin', tokenHash: 'a'.repeat(64) } });
        await tx.adminToken.create({ data: { name: 'b', role: 'auditor', tokenHash: 'b'.repeat(64) } });
      });
      expect(await prisma.adminToken.count({ where: { name: { in: ['a', 'b'] } } })).toBe(2);
    });

    it('rolls back everything when the callback throws', async () => {
      await expect(
        prisma.transaction(async (tx) => {
          await tx.adminToken.create({ data: { name: 'c', role: 'admin', tokenHash: 'c'.repeat(64) } });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await prisma.adminToken.count({ where: { name: 'c' } })).toBe(0);
    });

    it('reruns a serializable transaction that lost a race, so both writers succeed', async () => {
      // Both transactions count the compliance tokens, then each inserts one named after the count
      // it saw. Run serially the names would carry 0 and 1; both read before either writes, so
      // SERIALIZABLE aborts one of them (40001) and the helper reruns it.
      let attempts = 0;
      const bothRead = barrier(2);
      const writer = (name: string) =>
        prisma.transaction(
          async (tx) => {
            attempts++;
            const before = await tx.adminToken.count({ where: { role: 'compliance' } });
            await bothRead();
            await tx.adminToken.create({ data: { name: `${name}-${before}`, role: 'compliance', tokenHash: `${name}${before}`.padEnd(64, '0') } });
          },
          { isolationLevel: Prisma.TransactionIsolationLevel.Serializable, retries: 3 },
        );
      await Promise.all([writer('d'), writer('e')]);
      expect(attempts).toBeGreaterThanOrEqual(3);
      const seen = (await prisma.adminToken.findMany({ where: { role: 'compliance' } })).map((t) => t.name.split('-')[1]).sort();
      // The retried writer saw the other's row: counts 0 and 1, never 0 and 0.
      expect(seen).toEqual(['0', '1']);
    });

    it('gives up after the retries and surfaces the conflict', async () => {
      const bothRead = barrier(2);
      const writer = (name: string) =>
        prisma.transaction(
          async (tx) => {
            const before = await tx.adminToken.count({ where: { role: 'auditor' } });
            await bothRead();
            await tx.adminToken.create({ data: { name: `${name}-${before}`, role: 'auditor', tokenHash: `${name}${before}`.padEnd(64, '1') } });
          },
          { isolationLevel: Prisma.TransactionIsolationLevel.Serializable, retries: 0 },
        );
      const results = await Promise.allSettled([writer('f'), writer('g')]);
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      const reason = (rejected[0] as PromiseRejectedResult).reason;
      expect(isDbError(reason, 'DB.TRANSACTION_CONFLICT'), String(reason)).toBe(true);
      expect(await prisma.adminToken.count({ where: { OR: [{ name: { startsWith: 'f-' } }, { name: { startsWith: 'g-' } }] } })).toBe(1);
    });
  });
});
