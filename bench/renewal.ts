// Renewal at scale: the time of one scheduler scan over N certificates, and renewals per second
// end to end through a real sandbox process (order → STI-PA token → ACME tkauth-01 → finalize →
// download → checked → published → active).
// Run after `npm run build`:  node --import ./scripts/register-aliases.mjs dist/bench/renewal.js
// Options (flag or environment variable):
//   --certificates N   BENCH_CERTIFICATES   certificates in the database (default 10000)
//   --due-fraction F   BENCH_DUE_FRACTION   share of them due for renewal (default 0.01)
//   DATABASE_URL       a PostgreSQL server where the bench creates (and drops) a fresh database;
//                      unset: an embedded PostgreSQL in a temporary directory
//   CLM_PROCUREMENT_CONCURRENCY  orders the service works on at once (default: the service's, 4)
// The due certificates are real: procured from the sandbox through the service, then made due.
// The others are bulk-inserted rows shaped like procured ones (bench/support/synthetic-certificates.ts).
import 'reflect-metadata';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { Prisma, PrismaService, startEmbeddedPostgres } from '@app/db';
import type { AdminActor } from '../apps/clm/src/auth/roles.js';
import { createHttpApp } from '../apps/clm/src/boot/http-app.js';
import { prepareRuntime, type PreparedRuntime } from '../apps/clm/src/boot/runtime.js';
import { createRootLogger } from '../apps/clm/src/common/logger.js';
import { loadConfig } from '../apps/clm/src/config/config.js';
import { ProvidersService } from '../apps/clm/src/onboarding/providers.service.js';
import { StiCasService } from '../apps/clm/src/onboarding/sti-cas.service.js';
import { ProcurementService } from '../apps/clm/src/procurement/procurement.service.js';
import { dueCertificatesQuery, RenewalScheduler, type RenewalScanSummary } from '../apps/clm/src/renewal/renewal-scheduler.service.js';
import { startBenchSandbox } from './support/sandbox-process.js';
import { insertSyntheticCertificates } from './support/synthetic-certificates.js';

const { values: flags } = parseArgs({ options: { certificates: { type: 'string' }, 'due-fraction': { type: 'string' } } });
const CERTIFICATES = Number(flags.certificates ?? process.env.BENCH_CERTIFICATES ?? 10_000);
const DUE_FRACTION = Number(flags['due-fraction'] ?? process.env.BENCH_DUE_FRACTION ?? 0.01);
const IDLE_SCANS = 5;
const BENCH_ADMIN: AdminActor = { tokenId: 'bench', name: 'bench/renewal.ts', role: 'compliance', sourceAddress: '127.0.0.1', correlationId: 'bench-renewal' };

interface Database {
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh database on DATABASE_URL's server, or on an embedded PostgreSQL of our own. */
async function freshDatabase(): Promise<Database> {
  const server = process.env.DATABASE_URL;
  if (server) {
    const name = `bench_renewal_${randomBytes(4).toString('hex')}`;
    const onServer = async (statement: string) => {
      const client = new pg.Client({ connectionString: server });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await onServer(`CREATE DATABASE "${name}"`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    return { url: url.toString(), drop: () => onServer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-renewal-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir, database: 'bench' });
  return { url: embedded.url, drop: async () => { await embedded.stop(); await rm(dataDir, { recursive: true, force: true }); } };
}

/** `count` distinct OCNs; `first` picks the leading character so the two sets never meet. */
function ocnCodes(count: number, first: (block: number) => string): string[] {
  return Array.from({ length: count }, (_, i) => first(Math.floor(i / 36 ** 3)) + (i % 36 ** 3).toString(36).toUpperCase().padStart(3, '0'));
}

async function waitForActive(sql: pg.Client, column: 'id' | 'renewed_from_id', ids: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await sql.query<{ active: string; failed: string }>(
      `SELECT count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = 'failed') AS failed
         FROM certificates WHERE ${column} = ANY($1::uuid[])`,
      [ids],
    );
    if (Number(rows[0]!.failed) > 0) {
      const failed = await sql.query(`SELECT o.last_error_code, o.last_error FROM certificates c JOIN certificate_orders o ON o.certificate_id = c.id WHERE c.${column} = ANY($1::uuid[]) AND c.status = 'failed' LIMIT 3`, [ids]);
      throw new Error(`orders failed: ${JSON.stringify(failed.rows)}`);
    }
    if (Number(rows[0]!.active) === ids.length) return;
    if (Date.now() > deadline) throw new Error(`only ${rows[0]!.active} of ${ids.length} certificates active after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  if (!Number.isInteger(CERTIFICATES) || CERTIFICATES < 1) throw new Error(`--certificates must be a positive whole number (got ${CERTIFICATES})`);
  if (!(DUE_FRACTION > 0 && DUE_FRACTION <= 1)) throw new Error(`--due-fraction must be in (0, 1] (got ${DUE_FRACTION})`);
  const dueCount = Math.max(1, Math.round(CERTIFICATES * DUE_FRACTION));

  try {
    const [db, sandbox] = await Promise.all([freshDatabase(), startBenchSandbox({ SANDBOX_STI_PA_RATE_LIMIT: '100000' })]);
    cleanups.push(() => db.drop(), () => sandbox.stop());
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-renewal-clm-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));

    // The real service, in this process: jobs on (its order worker runs), the sandbox trusted.
    const config = loadConfig({
      DATABASE_URL: db.url,
      CLM_DATA_DIR: dataDir,
      CLM_SANDBOX: 'off',
      CLM_JOBS_ENABLED: 'true',
      CLM_LOG_LEVEL: 'warn',
      CLM_STI_PA_ROOTS_FILE: `${sandbox.paths.stiPaRoot},${sandbox.paths.stiPaCrlSigner}`,
      CLM_TLS_CA_FILE: sandbox.paths.tlsRoot,
      // The embedded STI-CR listens on port 8443 (x5u rule): a loopback address of its own.
      CLM_STI_CR_HOST: `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(2, 255)}`,
      ...(process.env.CLM_PROCUREMENT_CONCURRENCY ? { CLM_PROCUREMENT_CONCURRENCY: process.env.CLM_PROCUREMENT_CONCURRENCY } : {}),
    });
    const log = createRootLogger(config.logLevel);
    const prepared: PreparedRuntime = await prepareRuntime(config, log);
    cleanups.push(() => prepared.stop());
    const app: INestApplication = await createHttpApp(prepared.runtime, log);
    cleanups.push(() => app.close());
    await app.init();
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    cleanups.push(() => sql.end());

    // Onboarding through the services: one provider holding the OCNs that will be renewed.
    const realOcns = ocnCodes(dueCount, (block) => String(1 + (block % 9)));
    const stiPaUser = { userId: `bench-${randomBytes(4).toString('hex')}`, password: randomBytes(16).toString('hex') };
    await sandbox.adminApi('POST', '/users', { ...stiPaUser, ocns: realOcns, caTokens: false });
    const providers = app.get(ProvidersService);
    const provider = await providers.create({
      legalName: 'Bench Telecom LLC',
      frn: String(randomInt(0, 9_000_000_000)).padStart(10, '0'),
      filer499Id: '123456',
      rmdNumber: 'RMD0000001',
      contactEmail: 'stir-shaken@bench.example',
    }, BENCH_ADMIN);
    for (const ocn of realOcns) await providers.addOcn(provider.id, { ocn }, BENCH_ADMIN);
    await providers.putStiPaAccount(provider.id, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...stiPaUser }, BENCH_ADMIN);
    const stiCa = await app.get(StiCasService).create({ name: 'Sandbox STI-CA', directoryUrl: sandbox.acmeDirectory }, BENCH_ADMIN);

    // The certificates to renew: procured for real.
    const procurement = app.get(ProcurementService);
    const procureStart = performance.now();
    const realIds: string[] = [];
    for (const ocn of realOcns) {
      realIds.push((await procurement.requestCertificate({ providerId: provider.id, ocn, stiCaId: stiCa.id }, { type: 'admin', admin: BENCH_ADMIN })).certificateId);
    }
    await waitForActive(sql, 'id', realIds, 30 * 60_000);
    const procureSeconds = (performance.now() - procureStart) / 1000;

    // The rest: bulk-inserted, shaped like the real ones, none due.
    const sample = await sql.query<{ chain_pem: string }>('SELECT chain_pem FROM certificates WHERE id = $1', [realIds[0]]);
    const seedStart = performance.now();
    const synthetic = await insertSyntheticCertificates(sql, {
      ocns: ocnCodes(CERTIFICATES - dueCount, (block) => String.fromCharCode(65 + block)),
      stiCaId: stiCa.id,
      kekId: prepared.runtime.keystore.currentKekId,
      chainPem: sample.rows[0]!.chain_pem,
      x5uBase: config.stiCr.store.publicBaseUrl,
    });
    await sql.query('ANALYZE');
    const seedSeconds = (performance.now() - seedStart) / 1000;

    // (a) One scan over all of them with nothing due: the cost every 10 minutes on a quiet day.
    const scheduler = app.get(RenewalScheduler);
    const idle: RenewalScanSummary[] = [];
    for (let i = 0; i < IDLE_SCANS; i++) idle.push(await scheduler.scan());
    if (idle.some((s) => s.due !== 0)) throw new Error(`a scan found certificates due before any was made due: ${JSON.stringify(idle)}`);

    // Their renewal time passes (as it would with time): renewAt in the last hour.
    await sql.query(`UPDATE certificates SET renew_at = now() - random() * interval '1 hour' WHERE id = ANY($1::uuid[])`, [realIds]);
    const plan = (await app.get(PrismaService).$queryRaw<{ 'QUERY PLAN': string }[]>(
      Prisma.sql`EXPLAIN (ANALYZE, BUFFERS) ${dueCertificatesQuery(new Date(), 200)}`,
    )).map((row) => row['QUERY PLAN']);

    // (b) The scan that finds them, then every renewal through the sandbox to active.
    const renewStart = performance.now();
    const dueScan = await scheduler.scan();
    await waitForActive(sql, 'renewed_from_id', realIds, 30 * 60_000);
    const renewSeconds = (performance.now() - renewStart) / 1000;
    if (dueScan.started !== dueCount) throw new Error(`the scan started ${dueScan.started} renewals, expected ${dueCount}: ${JSON.stringify(dueScan)}`);
    const latency = await sql.query<{ p50: number; p95: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM activated_at - created_at)) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM activated_at - created_at)) AS p95
         FROM certificates WHERE renewed_from_id = ANY($1::uuid[])`,
      [realIds],
    );
    const superseded = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM certificates WHERE id = ANY($1::uuid[]) AND status = 'superseded'`, [realIds]);
    const afterScan = await scheduler.scan();

    const [cpu] = cpus();
    const version = (await sql.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    const idleMs = idle.map((s) => s.durationMs);
    // The query's two branches (revoked unreplaced, active and due) each read `certificates c`,
    // which EXPLAIN prints as c and c_1: how each one reaches its rows.
    const branchScans = plan.filter((line) => /Scan.* on certificates c(_\d+)?\s/.test(line)).map((line) => line.trim().replace(/^->\s*/, ''));
    console.log(`renewal bench: Node ${process.version}, ${cpus().length} × ${cpu?.model ?? 'unknown CPU'}, PostgreSQL ${version}`);
    console.log(`certificates: ${CERTIFICATES} active (${dueCount} due = ${DUE_FRACTION * 100}%), procurement concurrency ${config.procurement.concurrency}`);
    console.log(`seeding: ${dueCount} procured through the sandbox in ${procureSeconds.toFixed(1)} s (${(dueCount / procureSeconds).toFixed(2)} issuances/s); ${synthetic} bulk-inserted in ${seedSeconds.toFixed(1)} s`);
    console.log(`scan over ${CERTIFICATES}, none due:   median ${median(idleMs)} ms (runs: ${idleMs.join(', ')} ms)`);
    console.log(`scan over ${CERTIFICATES}, ${dueCount} due:  ${dueScan.durationMs} ms (claims each and starts its renewal order: ${dueScan.started} started)`);
    console.log(`renewals end to end:  ${dueCount} in ${renewSeconds.toFixed(1)} s = ${(dueCount / renewSeconds).toFixed(2)} renewals/s (scan start to last active; per renewal p50 ${latency.rows[0]!.p50.toFixed(1)} s, p95 ${latency.rows[0]!.p95.toFixed(1)} s)`);
    console.log(`after: ${superseded.rows[0]!.n} of ${dueCount} renewed certificates superseded; next scan found ${afterScan.due} due in ${afterScan.durationMs} ms`);
    for (const scan of branchScans) console.log(`scan query branch ${/^Seq Scan/.test(scan) ? 'does NOT use an index' : 'uses an index'}: ${scan}`);
    console.log(`EXPLAIN (ANALYZE, BUFFERS) of the scan query with ${dueCount} due:\n  ${plan.join('\n  ')}`);
  } finally {
    await cleanUp();
  }
}

/** What the bench started (database, sandbox, service), stopped in reverse order, once. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
}
// Ctrl-C stops the sandbox child and drops the bench database rather than leaving them behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
