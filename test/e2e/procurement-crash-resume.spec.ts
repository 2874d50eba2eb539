import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClmProcess } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  killHard,
  onboardOverApi,
  procurementEnv,
  registerStiCaOverApi,
  requestOverApi,
  startClm,
  waitForCertificate,
  waitForOutput,
} from '../support/procurement-e2e.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

interface SandboxState {
  acme: { accounts: { id: string }[]; orders: { id: string; spc: string | null; status: string }[] };
}

/**
 * Every point of an order's life where the service can die: right after each state is
 * persisted (`after:<state>`), and right after the step's side effect but before its state is
 * persisted (`before:<state>`: the CA already has the account, the order, the answer, the CSR).
 * The service process is SIGKILLed there (CLM_TEST_HOOK_HALT_ORDER holds the worker still so
 * the kill lands exactly), then a new process is started on the same database. Each order must
 * finish active with exactly one certificate, one certificate key, one ACME account per
 * provider and one ACME order at the CA.
 */
const HALT_POINTS = [
  'after:key_generated',
  'before:account_ready', 'after:account_ready',
  'before:token_obtained', 'after:token_obtained',
  'before:order_created', 'after:order_created',
  'before:challenge_answered', 'after:challenge_answered',
  'before:finalized', 'after:finalized',
  'before:downloaded', 'after:downloaded',
  'before:checked', 'after:checked',
  'before:published', 'after:published',
  'before:active',
] as const;

describe('a service killed at any point of an order resumes it after restart (e2e, SIGKILL)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let dataDir: string;
  let sql: pg.Client;
  const running: ClmProcess[] = [];

  beforeAll(async () => {
    [db, sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess()]);
    dataDir = mkdtempSync(join(tmpdir(), 'clm-crash-'));
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    for (const clm of running) if (clm.child.exitCode === null && clm.child.signalCode === null) await clm.stop();
    await sql?.end();
    await sandbox?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  // A restarted service keeps its address: its STI-CR listener comes back where the x5u points.
  const stiCrHost = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(2, 255)}`;

  async function start(extra: Record<string, string> = {}): Promise<ClmProcess> {
    const clm = await startClm(procurementEnv({ databaseUrl: db.url, dataDir, sandbox, extra: { CLM_STI_CR_HOST: stiCrHost, ...extra } }));
    running.push(clm);
    return clm;
  }

  async function count(query: string, params: unknown[]): Promise<number> {
    return Number((await sql.query<{ n: string }>(query, params)).rows[0]!.n);
  }

  for (const point of HALT_POINTS) {
    it(`killed ${point.replace(':', ' ')}: finishes with one certificate, one key, one ACME order`, async () => {
      const [when, state] = point.split(':') as ['before' | 'after', string];
      // Explicit, not left to the NODE_ENV=test vitest passes down: the hook is refused otherwise.
      const first = await start({ CLM_ENABLE_TEST_HOOKS: '1', CLM_TEST_HOOK_HALT_ORDER: point });
      // A provider of its own: its ACME account is created during this very order.
      const { providerId, ocns } = await onboardOverApi(first, sandbox);
      const stiCaId = await registerStiCaOverApi(first, sandbox);
      const ocn = ocns[0]!;
      const id = await requestOverApi(first, { providerId, ocn, stiCaId });

      await waitForOutput(first, new RegExp(`TEST HOOK CLM_TEST_HOOK_HALT_ORDER: order \\S+ halted ${when} ${state}`));
      await killHard(first);

      const second = await start();
      const view = await waitForCertificate(second, id, (v) => v.state === 'active' || v.state === 'failed');
      expect(view.state, JSON.stringify(view.order)).toBe('active');
      expect(view.order).toMatchObject({ state: 'active' });

      expect(await count('SELECT count(*) AS n FROM certificates c JOIN ocns o ON o.id = c.ocn_id WHERE o.code = $1', [ocn])).toBe(1);
      expect(await count('SELECT count(*) AS n FROM certificates c JOIN ocns o ON o.id = c.ocn_id WHERE o.code = $1 AND c.status = $2', [ocn, 'active'])).toBe(1);
      expect(await count('SELECT count(*) AS n FROM acme_accounts WHERE provider_id = $1', [providerId])).toBe(1);
      // No key was lost or made twice: the certificate key is the one generated at the request,
      // and no other certificate key exists anywhere without a certificate.
      const keyEvent = view.events!.find((e) => e.type === 'order.key_generated')!.details as { keyId: string };
      expect(await count('SELECT count(*) AS n FROM certificates WHERE id = $1 AND key_id = $2', [id, keyEvent.keyId])).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM private_keys k WHERE k.purpose = 'certificate' AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.key_id = k.id)`, [])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM private_keys k WHERE k.purpose = 'acme_account' AND NOT EXISTS (SELECT 1 FROM acme_accounts a WHERE a.key_id = k.id)`, [])).toBe(0);
      // Each transition happened once.
      const transitions = view.events!.filter((e) => e.type.startsWith('order.') && e.type !== 'order.retry_scheduled').map((e) => e.type);
      expect(transitions).toEqual([
        'order.key_generated', 'order.account_ready', 'order.token_obtained', 'order.order_created', 'order.challenge_answered',
        'order.finalized', 'order.downloaded', 'order.checked', 'order.published', 'order.active',
      ]);

      // Where the CA had already acted, the resumed step found that instead of repeating it.
      const detailsOf = (type: string) => view.events!.find((e) => e.type === type)!.details as Record<string, unknown>;
      if (point === 'before:order_created') expect(detailsOf('order.order_created')).toMatchObject({ adopted: true });
      if (point === 'before:finalized') expect(detailsOf('order.finalized')).toMatchObject({ alreadyFinalized: true });
      if (point === 'before:challenge_answered') expect(detailsOf('order.challenge_answered')).toMatchObject({ acmeStatus: 'ready' });

      const sandboxState = await sandbox.adminApi<SandboxState>('GET', '/state');
      expect(sandboxState.acme.orders.filter((o) => o.spc === ocn).map((o) => o.status)).toEqual(['valid']);
      // One ACME account at the CA per account row here: a repeated newAccount found the same one.
      expect(sandboxState.acme.accounts).toHaveLength(await count('SELECT count(*) AS n FROM acme_accounts', []));
      await second.stop();
    });
  }
});
