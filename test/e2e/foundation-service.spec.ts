import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClmProcess, printedAdminToken, startClm } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

async function api(base: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

describe('service on an external database (DATABASE_URL)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let clm: ClmProcess;
  let adminToken: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'clm-e2e-'));
    clm = await startClm({ DATABASE_URL: db.url, CLM_DATA_DIR: dataDir });
    const token = printedAdminToken(clm.output());
    expect(token, 'first start prints an admin token').toBeDefined();
    adminToken = token!;
  });
  afterAll(async () => {
    await clm?.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is alive and ready, with its OpenAPI document served', async () => {
    expect((await api(clm.baseUrl, '/healthz')).status).toBe(200);
    const ready = await api(clm.baseUrl, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready' });
    const doc = await api(clm.baseUrl, '/docs/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.json.paths)).toContain('/api/v1/admin-tokens');
  });

  it('generates the key-encryption key file with 0600 permissions', () => {
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
  });

  it('answers an admin route without a token with 401 problem+json', async () => {
    const res = await api(clm.baseUrl, '/api/v1/admin-tokens');
    expect(res.status).toBe(401);
    expect(res.type).toContain('application/problem+json');
    expect(res.json).toMatchObject({ status: 401, code: 'AUTH.UNAUTHENTICATED' });
    expect(res.json.correlationId).toBe(res.headers.get('x-correlation-id'));
  });

  it('rejects an unknown token, and keeps a caller-supplied correlation id', async () => {
    const res = await fetch(`${clm.baseUrl}/api/v1/admin-tokens`, {
      headers: { authorization: 'Bearer clm_admin_not-a-real-token', 'x-correlation-id': 'call-1234-abcd' },
    });
    const body = await res.json();
    expect(res.status).toBe(401);
    expect(body).toMatchObject({ code: 'AUTH.INVALID_TOKEN', correlationId: 'call-1234-abcd' });
  });

  it('enforces roles: auditor reads but gets 403 on a write; compliance cannot manage tokens', async () => {
    const created = await api(clm.baseUrl, '/api/v1/admin-tokens', { method: 'POST', token: adminToken, body: { name: 'audit desk', role: 'auditor' } });
    expect(created.status).toBe(201);
    expect(created.json.token).toMatch(/^clm_admin_/);
    const auditor = created.json.token as string;

    const write = await api(clm.baseUrl, '/api/v1/admin-tokens', { method: 'POST', token: auditor, body: { name: 'x', role: 'admin' } });
    expect(write.status).toBe(403);
    expect(write.type).toContain('application/problem+json');
    expect(write.json.code).toBe('AUTH.FORBIDDEN');

    const compliance = await api(clm.baseUrl, '/api/v1/admin-tokens', { method: 'POST', token: adminToken, body: { name: 'desk', role: 'compliance' } });
    const listByCompliance = await api(clm.baseUrl, '/api/v1/admin-tokens', { token: compliance.json.token });
    expect(listByCompliance.status).toBe(403);

    const list = await api(clm.baseUrl, '/api/v1/admin-tokens', { token: adminToken });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).not.toContain('clm_admin_');
  });

  it('rejects unknown body fields and bad values with the field named', async () => {
    const res = await api(clm.baseUrl, '/api/v1/admin-tokens', { method: 'POST', token: adminToken, body: { name: 'n', role: 'root', extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('REQUEST.INVALID');
    const errors = JSON.stringify(res.json.errors);
    expect(errors).toContain('role');
    expect(errors).toContain('extra');
  });

  it('records admin changes in the audit log, with no token plaintext', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = await client.query("SELECT action, actor_type, details::text AS details FROM audit_events WHERE action = 'admin_token.created'");
      expect(rows.rowCount).toBeGreaterThanOrEqual(3);
      expect(rows.rows.map((r) => r.details).join()).not.toContain('clm_admin_');
    } finally {
      await client.end();
    }
  });

  it('keeps its data over a restart and prints no second admin token', async () => {
    expect(await clm.stop('SIGINT')).toBe(0);
    clm = await startClm({ DATABASE_URL: db.url, CLM_DATA_DIR: dataDir });
    expect(printedAdminToken(clm.output())).toBeUndefined();
    expect((await api(clm.baseUrl, '/api/v1/admin-tokens', { token: adminToken })).status).toBe(200);
  });
});

describe('service on its embedded defaults (no DATABASE_URL)', () => {
  let dataDir: string;
  let clm: ClmProcess | undefined;

  beforeAll(() => {
    // The service makes its data directory itself (passable for the embedded server's OS user when
    // root); the parent stands for a checkout folder, which is normally 0755 rather than mkdtemp's 0700.
    const parent = mkdtempSync(join(tmpdir(), 'clm-embedded-'));
    chmodSync(parent, 0o755);
    dataDir = join(parent, 'data');
  });
  afterAll(async () => {
    await clm?.stop();
    rmSync(dirname(dataDir), { recursive: true, force: true });
  });

  it('runs its own PostgreSQL, is ready within 30 s, and keeps data across restarts', async () => {
    // `npm start` as a user runs it (its own process group; dist/ is already built by npm test's
    // prelude, as by npm ci), timed from the spawn.
    const started = Date.now();
    clm = await startClm({ DATABASE_URL: undefined, CLM_DATA_DIR: dataDir, CLM_SANDBOX: 'embedded', CLM_SANDBOX_PORT: '0' }, 30_000, { via: 'npm-start' });
    let ready = 0;
    while (Date.now() - started < 30_000 && ready !== 200) {
      ready = (await fetch(`${clm.baseUrl}/readyz`)).status;
    }
    expect(ready).toBe(200);
    const token = printedAdminToken(clm.output());
    expect(token).toBeDefined();
    // The local STI sandbox runs beside it and its STI-CA is registered for onboarding.
    expect(clm.output()).toContain('embedded STI sandbox running');
    const cas = await fetch(`${clm.baseUrl}/api/v1/sti-cas`, { headers: { authorization: `Bearer ${token}` } });
    const list = (await cas.json()) as Array<{ name: string; directoryUrl: string }>;
    expect(list.map((ca) => ca.name)).toEqual(['Sandbox STI-CA']);
    const directory = await fetch(list[0]!.directoryUrl).catch((error: Error) => error);
    // Served over HTTPS with the sandbox's own root: an unconfigured client must refuse it.
    expect(directory).toBeInstanceOf(Error);
    // Ctrl-C: the terminal signals the whole process group (npm itself then ends by the signal);
    // the service shuts down in order and PostgreSQL leaves no lock behind.
    await clm.stop('SIGINT');
    expect(clm.output()).toMatch(/"msg":"stopped"/);
    expect(existsSync(join(dataDir, 'postgres', 'pgdata', 'postmaster.pid')), 'PostgreSQL stopped').toBe(false);

    clm = await startClm({ DATABASE_URL: undefined, CLM_DATA_DIR: dataDir }, 30_000);
    expect(printedAdminToken(clm.output())).toBeUndefined();
    const res = await fetch(`${clm.baseUrl}/api/v1/admin-tokens`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await clm.stop('SIGINT')).toBe(0);
    clm = undefined;
  });

  it('stops with an error when its own PostgreSQL dies under it, and the next start brings it back', async () => {
    clm = await startClm({ DATABASE_URL: undefined, CLM_DATA_DIR: dataDir }, 30_000);
    const running = clm;
    const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
    // The postmaster's pid is the first line of postmaster.pid; SIGQUIT is its immediate shutdown (a crash, for us).
    const postmaster = Number(readFileSync(join(dataDir, 'postgres', 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(postmaster, 'SIGQUIT');
    const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code).toBe(1);
    expect(running.output()).toContain('a component the service needs stopped');
    expect(running.output()).toMatch(/"msg":"stopped"/);

    clm = await startClm({ DATABASE_URL: undefined, CLM_DATA_DIR: dataDir }, 30_000);
    expect((await fetch(`${clm.baseUrl}/readyz`)).status).toBe(200);
    expect(await clm.stop('SIGINT')).toBe(0);
    clm = undefined;
  });
});

describe('configuration', () => {
  it('fails fast naming every bad variable', async () => {
    const { spawnSync } = await import('node:child_process');
    const { repoRoot } = await import('../support/clm-process.js');
    const result = spawnSync(process.execPath, ['--import', './scripts/register-aliases.mjs', 'dist/apps/clm/src/main.js'], {
      cwd: repoRoot,
      env: { ...process.env, CLM_PORT: 'eighty', CLM_LOG_LEVEL: 'loud', CLM_MASTER_KEY: 'short' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('CLM_PORT');
    expect(result.stderr).toContain('CLM_LOG_LEVEL');
    expect(result.stderr).toContain('CLM_MASTER_KEY');
    expect(result.stderr).not.toContain('short');
  });
});
