import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenewalScanSummary } from '../../apps/clm/src/renewal/renewal-scheduler.service.js';
import type { ClmProcess } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { api, onboardOverApi, procurementEnv, registerStiCaOverApi, requestOverApi, startClm } from '../support/procurement-e2e.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const CERTIFICATES = 50;

interface SandboxState {
  acme: {
    orders: { id: string; spc: string | null; status: string; certificateId: string | null }[];
    certificates: { id: string; serial: string; orderId: string }[];
  };
}

/**
 * Issue 5, done-when: "Two service processes on one database, 50 certificates due at once: exactly
 * 50 renewals, none twice." Two real service processes share one database and one real sandbox
 * process. 50 certificates are procured through the real path, made due together (renew_at set
 * to now in the database), and then both replicas scan at
 * the same moment (POST /renewals/scan, the scan the scheduler leader runs every 10 minutes) and
 * both workers run the renewal orders. Each certificate must be renewed exactly once.
 */
describe('renewal on two service processes sharing one database (e2e)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let dataDir: string;
  let sql: pg.Client;
  const running: ClmProcess[] = [];

  beforeAll(async () => {
    // The sandbox's STI-PA rate limit (120/min) is for politeness tests; 100 orders need tokens.
    [db, sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess({ env: { SANDBOX_STI_PA_RATE_LIMIT: '10000' } })]);
    dataDir = mkdtempSync(join(tmpdir(), 'clm-renewal-replicas-'));
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    for (const clm of running) if (clm.child.exitCode === null && clm.child.signalCode === null) await clm.stop();
    await sandbox?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Polls the database until `count` certificates of `where` are active; fails at once on a failed order. */
  async function waitUntilActive(where: string, params: unknown[], count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await sql.query<{ status: string; n: string }>(`SELECT c.status::text AS status, count(*) AS n FROM certificates c WHERE ${where} GROUP BY c.status`, params);
      const byStatus = Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
      if (byStatus.failed) {
        const failed = await sql.query(`SELECT c.id, o.state, o.last_error_code, o.last_error FROM certificates c JOIN certificate_orders o ON o.certificate_id = c.id WHERE ${where} AND c.status = 'failed'`, params);
        throw new Error(`an order failed: ${JSON.stringify(failed.rows)}`);
      }
      if ((byStatus.active ?? 0) === count) return;
      if (Date.now() > deadline) throw new Error(`not all ${count} certificates active within ${timeoutMs} ms: ${JSON.stringify(byStatus)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it(`renews ${CERTIFICATES} certificates due at once exactly once each, across both replicas`, async () => {
    const replicas = await Promise.all([0, 1].map(() => startClm(procurementEnv({ databaseUrl: db.url, dataDir, sandbox }))));
    running.push(...replicas);
    const [first, second] = replicas as [ClmProcess, ClmProcess];

    // 50 real certificates, one per OCN (procurement runs one order per OCN and STI-CA at a time).
    const { providerId, ocns } = await onboardOverApi(first, sandbox, CERTIFICATES);
    const stiCaId = await registerStiCaOverApi(first, sandbox);
    const originals: string[] = [];
    for (const ocn of ocns) originals.push(await requestOverApi(first, { providerId, ocn, stiCaId }));
    await waitUntilActive('c.id = ANY($1::uuid[])', [originals], CERTIFICATES, 180_000);
    const issuedBefore = (await sandbox.adminApi<SandboxState>('GET', '/state')).acme.certificates.length;
    expect(issuedBefore).toBe(CERTIFICATES);

    // Nothing is due yet: a scan on either replica starts nothing.
    const idle = await api<RenewalScanSummary>(second, 'POST', '/api/v1/renewals/scan');
    expect(idle.json).toMatchObject({ due: 0, started: 0 });

    // All 50 due at this moment. Not through a policy: renewBeforeDays is held to half the
    // lifetime (certificates/renewal-policy.ts), so no policy makes a fresh certificate due.
    const due = await sql.query(`UPDATE certificates SET renew_at = now() WHERE status = 'active' AND sti_ca_id = $1::uuid`, [stiCaId]);
    expect(due.rowCount).toBe(CERTIFICATES);

    // Both replicas scan at the same moment, each over all 50 due certificates.
    const scans = await Promise.all(replicas.map((clm) => api<RenewalScanSummary>(clm, 'POST', '/api/v1/renewals/scan')));
    const summaries = scans.map((scan) => scan.json);
    expect(scans.map((scan) => scan.status)).toEqual([200, 200]);
    expect(summaries.reduce((sum, s) => sum + s.started, 0)).toBe(CERTIFICATES);
    expect(summaries.map((s) => [s.errors, s.refused])).toEqual([[0, 0], [0, 0]]);

    await waitUntilActive('c.renewed_from_id = ANY($1::uuid[])', [originals], CERTIFICATES, 180_000);

    // Exactly one renewal per certificate, active, with a new key; every original superseded.
    const renewals = await sql.query<{ renewed_from_id: string; n: string; active: string; new_keys: string }>(
      `SELECT r.renewed_from_id::text, count(*) AS n,
              count(*) FILTER (WHERE r.status = 'active') AS active,
              count(*) FILTER (WHERE r.key_id <> o.key_id) AS new_keys
         FROM certificates r JOIN certificates o ON o.id = r.renewed_from_id
        WHERE r.renewed_from_id = ANY($1::uuid[]) GROUP BY r.renewed_from_id`,
      [originals],
    );
    expect(renewals.rows).toHaveLength(CERTIFICATES);
    expect(renewals.rows.every((row) => row.n === '1' && row.active === '1' && row.new_keys === '1')).toBe(true);
    const statuses = await sql.query<{ status: string; n: string }>(`SELECT status::text, count(*) AS n FROM certificates GROUP BY status ORDER BY status`);
    expect(statuses.rows).toEqual([{ status: 'active', n: String(CERTIFICATES) }, { status: 'superseded', n: String(CERTIFICATES) }]);
    const activePerOcn = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM certificates WHERE status = 'active' GROUP BY ocn_id`);
    expect(activePerOcn.rows.map((row) => row.n)).toEqual(ocns.map(() => '1'));

    // No renewal order was worked twice: each went through its nine transitions once, at the
    // first attempt, and was requested once.
    const orders = await sql.query<{ id: string; state: string; attempts: number }>(
      `SELECT o.id::text, o.state::text, o.attempts FROM certificate_orders o JOIN certificates c ON c.id = o.certificate_id WHERE o.kind = 'renew'`,
    );
    expect(orders.rows).toHaveLength(CERTIFICATES);
    expect(orders.rows.every((row) => row.state === 'active' && row.attempts === 0)).toBe(true);
    const advanced = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM audit_events a JOIN certificates c ON c.id::text = a.subject_id
        WHERE a.action = 'certificate_order.advanced' AND c.renewed_from_id IS NOT NULL GROUP BY a.subject_id`,
    );
    expect(advanced.rows.map((row) => row.n)).toEqual(ocns.map(() => '9'));
    const requested = await sql.query<{ n: string; distinct_sources: string }>(
      `SELECT count(*) AS n, count(DISTINCT details->>'renewedFromId') AS distinct_sources FROM audit_events WHERE action = 'certificate.renewal_requested'`,
    );
    expect(requested.rows[0]).toEqual({ n: String(CERTIFICATES), distinct_sources: String(CERTIFICATES) });

    // The CA saw exactly 50 more orders, one per OCN, and issued exactly 50 more certificates,
    // whose serials are our renewals'.
    const state = await sandbox.adminApi<SandboxState>('GET', '/state');
    expect(state.acme.certificates).toHaveLength(2 * CERTIFICATES);
    for (const ocn of ocns) expect(state.acme.orders.filter((o) => o.spc === ocn).map((o) => o.status)).toEqual(['valid', 'valid']);
    const renewedSerials = await sql.query<{ serial: string }>(`SELECT serial FROM certificates WHERE renewed_from_id IS NOT NULL`);
    const issuedSerials = new Set(state.acme.certificates.map((c) => c.serial.toLowerCase()));
    expect(renewedSerials.rows.filter((row) => issuedSerials.has(row.serial.toLowerCase()))).toHaveLength(CERTIFICATES);

    // Both replicas scanned (job_runs names the process), and both workers ran renewal orders.
    const runs = await sql.query<{ instance: string; started: number }>(
      `SELECT instance, (summary->>'started')::int AS started FROM job_runs WHERE job = 'renewal.scan' AND ok AND (summary->>'due')::int > 0`,
    );
    const pids = replicas.map((clm) => String(clm.child.pid));
    expect(new Set(runs.rows.map((row) => row.instance.split(':').pop()))).toEqual(new Set(pids));
    expect(runs.rows.reduce((sum, row) => sum + row.started, 0)).toBe(CERTIFICATES);
    const renewalOrderIds = new Set(orders.rows.map((row) => row.id));
    const advancedBy = replicas.map((clm) => new Set(
      clm.output().split('\n')
        .filter((line) => line.includes('"certificate order advanced"'))
        .map((line) => (JSON.parse(line) as { orderId: string }).orderId)
        .filter((id) => renewalOrderIds.has(id)),
    ));
    expect(advancedBy[0]!.size).toBeGreaterThan(0);
    expect(advancedBy[1]!.size).toBeGreaterThan(0);
    expect(new Set([...advancedBy[0]!, ...advancedBy[1]!]).size).toBe(CERTIFICATES);

    // Nothing is due any more: the renewed certificates follow the default policy again.
    const after = await Promise.all(replicas.map((clm) => api<RenewalScanSummary>(clm, 'POST', '/api/v1/renewals/scan')));
    expect(after.map((scan) => scan.json.started)).toEqual([0, 0]);
  }, 420_000);
});
