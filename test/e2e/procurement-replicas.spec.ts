import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import type { ClmProcess } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  api,
  onboardOverApi,
  procurementEnv,
  registerStiCaOverApi,
  requestOverApi,
  startClm,
  waitForCertificate,
} from '../support/procurement-e2e.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const ORDERS = 16;

interface SandboxState {
  acme: { accounts: { id: string }[]; orders: { id: string; spc: string | null; status: string }[] };
}

/**
 * Two service processes on one database, ORDERS certificate orders due at the same moment: every
 * order is done exactly once (one transition of each kind, one ACME order at the CA), both
 * replicas take part, and the orders of one provider share one ACME account although several
 * workers reached "ensure the account" at the same time.
 */
describe('two service processes on one database (e2e)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let dataDir: string;
  const running: ClmProcess[] = [];

  beforeAll(async () => {
    // The sandbox's STI-PA rate limit (120/min) is for politeness tests, not for this one.
    [db, sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess({ env: { SANDBOX_STI_PA_RATE_LIMIT: '10000' } })]);
    dataDir = mkdtempSync(join(tmpdir(), 'clm-replicas-'));
  });
  afterAll(async () => {
    for (const clm of running) if (clm.child.exitCode === null && clm.child.signalCode === null) await clm.stop();
    await sandbox?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`runs ${ORDERS} orders due at once exactly once each, across both replicas`, async () => {
    // Orders are requested while no worker runs, so all of them are due when the replicas start.
    const desk = await startClm(procurementEnv({ databaseUrl: db.url, dataDir, sandbox, extra: { CLM_JOBS_ENABLED: 'false' } }));
    running.push(desk);
    const { providerId, ocns } = await onboardOverApi(desk, sandbox, ORDERS);
    const stiCaId = await registerStiCaOverApi(desk, sandbox);
    const ids: string[] = [];
    for (const ocn of ocns) ids.push(await requestOverApi(desk, { providerId, ocn, stiCaId }));
    await desk.stop();

    const replicas = await Promise.all([0, 1].map(() => startClm(procurementEnv({ databaseUrl: db.url, dataDir, sandbox, extra: { CLM_PROCUREMENT_CONCURRENCY: '3' } }))));
    running.push(...replicas);
    const views: CertificateView[] = [];
    for (const id of ids) views.push(await waitForCertificate(replicas[0]!, id, (v) => v.state === 'active' || v.state === 'failed', 120_000));
    expect(views.map((v) => v.state)).toEqual(ids.map(() => 'active'));

    // Each transition once per order (a second worker on the same order would repeat some).
    for (const view of views) {
      const transitions = view.events!.filter((e) => e.type.startsWith('order.')).map((e) => e.type);
      expect(transitions).toEqual([
        'order.key_generated', 'order.account_ready', 'order.token_obtained', 'order.order_created', 'order.challenge_answered',
        'order.finalized', 'order.downloaded', 'order.checked', 'order.published', 'order.active',
      ]);
    }
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      const advanced = await sql.query<{ subject_id: string; n: string }>(
        `SELECT subject_id, count(*) AS n FROM audit_events WHERE action = 'certificate_order.advanced' GROUP BY subject_id`,
      );
      expect(advanced.rows).toHaveLength(ORDERS);
      expect(advanced.rows.every((row) => Number(row.n) === 9)).toBe(true);
      const accounts = await sql.query<{ n: string }>('SELECT count(*) AS n FROM acme_accounts WHERE provider_id = $1', [providerId]);
      expect(Number(accounts.rows[0]!.n)).toBe(1);
      const keys = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM private_keys WHERE purpose = 'acme_account'`);
      expect(Number(keys.rows[0]!.n)).toBe(1);
    } finally {
      await sql.end();
    }

    // One ACME order per OCN at the CA, and one ACME account.
    const state = await sandbox.adminApi<SandboxState>('GET', '/state');
    for (const ocn of ocns) expect(state.acme.orders.filter((o) => o.spc === ocn).map((o) => o.status)).toEqual(['valid']);
    expect(state.acme.accounts).toHaveLength(1);

    // Both replicas worked: each logged transitions of some of the orders.
    const advancedBy = replicas.map((clm) => new Set(
      clm.output().split('\n').filter((line) => line.includes('"certificate order advanced"')).map((line) => (JSON.parse(line) as { orderId: string }).orderId),
    ));
    expect(advancedBy[0]!.size).toBeGreaterThan(0);
    expect(advancedBy[1]!.size).toBeGreaterThan(0);

    const list = await api<CertificateView[]>(replicas[1]!, 'GET', '/api/v1/certificates?state=active');
    expect(list.json).toHaveLength(ORDERS);
  });
});
