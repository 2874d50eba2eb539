import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/clm-cli.js';
import type { ClmProcess } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { E2E_ADMIN_TOKEN, onboardOverApi, procurementEnv, registerStiCaOverApi, startClm, waitForCertificate } from '../support/procurement-e2e.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

/** `clm certs request|list|show` against a running service, as an operator would use them. */
describe('clm certs (e2e)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let dataDir: string;
  let clm: ClmProcess;

  beforeAll(async () => {
    [db, sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess()]);
    dataDir = mkdtempSync(join(tmpdir(), 'clm-cli-'));
    clm = await startClm(procurementEnv({ databaseUrl: db.url, dataDir, sandbox }));
  });
  afterAll(async () => {
    await clm?.stop();
    await sandbox?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli({ server: clm.baseUrl, token: E2E_ADMIN_TOKEN }, ...args);

  it('requests a certificate, lists it with state and days left, and shows its order and events', async () => {
    const { providerId, ocns } = await onboardOverApi(clm, sandbox);
    const stiCaId = await registerStiCaOverApi(clm, sandbox);

    const requested = await cli('certs', 'request', '--provider', providerId, '--ocn', ocns[0]!, '--ca', stiCaId);
    expect(requested.code, requested.stderr).toBe(0);
    const id = requested.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(requested.stderr).toContain(`clm certs show ${id}`);

    const active = await waitForCertificate(clm, id, (v) => v.state === 'active');
    const listed = await cli('certs', 'list', '--ocn', ocns[0]!);
    expect(listed.code, listed.stderr).toBe(0);
    const [header, row, ...rest] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+OCN\s+STATE\s+ORDER\s+DAYS LEFT\s+NOT AFTER\s+STI-CA\s+NOTE$/);
    expect(rest).toEqual([]);
    expect(row!.split(/\s{2,}/).slice(0, 6)).toEqual([id, ocns[0], 'active', 'active', String(active.daysLeft), new Date(active.notAfter!).toISOString().slice(0, 10)]);

    const shown = await cli('certs', 'show', id);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('state          active');
    expect(shown.stdout).toContain(`x5u            ${active.x5u}`);
    expect(shown.stdout).toMatch(/order\.checked\n/);

    const json = JSON.parse((await cli('certs', 'show', id, '--json')).stdout) as { id: string; serial: string };
    expect(json).toMatchObject({ id, serial: active.serial });
    expect((await cli('certs', 'list', '--state', 'failed')).stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('prints the API\'s code on one line and exits 1 when the request is refused', async () => {
    const { providerId } = await onboardOverApi(clm, sandbox);
    const stiCaId = await registerStiCaOverApi(clm, sandbox);
    const refused = await cli('certs', 'request', '--provider', providerId, '--ocn', 'ZZZ9', '--ca', stiCaId);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^clm: OCN\.NOT_FOUND: OCN ZZZ9 is not onboarded.*\(correlation id \S+\)\n$/);
    expect(refused.stdout).toBe('');
  });
});
