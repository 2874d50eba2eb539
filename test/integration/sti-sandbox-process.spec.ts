import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCertificate } from '@app/shaken';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../apps/sti-sandbox/src/sandbox.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('sti-sandbox as a process', () => {
  let sandbox: SandboxProcess;

  beforeAll(async () => {
    sandbox = await startSandboxProcess({ env: { SANDBOX_ADMIN_SECRET: '' } });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('prints a ready line with its endpoints and trust files, all of which exist', async () => {
    expect(sandbox.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.acmeDirectory).toBe(`${sandbox.baseUrl}/acme/directory`);
    expect(sandbox.stiPaApi).toBe(`${sandbox.baseUrl}/sti-pa/api/v1`);
    expect(sandbox.paths.tlsRoot).toBe(join(sandbox.dataDir, 'tls-root.pem'));
    for (const path of [sandbox.paths.stiPaRoot, sandbox.paths.stiCaRoot, sandbox.paths.stiCaIntermediate, sandbox.paths.stiPaCrlSigner, sandbox.paths.stiPaSigning]) {
      expect(parseCertificate(await readFile(path, 'utf8')).subject).not.toBe('');
    }
  });

  it('generates the admin secret into the data dir (0600) when none is configured, and the admin API requires it', async () => {
    const path = sandbox.paths.adminSecret as string;
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const secret = (await readFile(path, 'utf8')).trim();
    const unauthenticated = await fetch(`${sandbox.admin}/state`, { dispatcher: sandbox.dispatcher });
    expect(unauthenticated.status).toBe(401);
    const wrong = await fetch(`${sandbox.admin}/state`, { dispatcher: sandbox.dispatcher, headers: { authorization: 'Bearer not-the-secret' } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${sandbox.admin}/state`, { dispatcher: sandbox.dispatcher, headers: { authorization: `Bearer ${secret}` } });
    expect(right.status).toBe(200);
    expect(await right.json()).toMatchObject({ stiPa: { users: [{ userId: 'demo', ocns: ['818H', '709J'] }] } });
  });

  it('keeps private keys out of reach: mode 0600, and never served', async () => {
    const keys = ['sti-pa-root', 'sti-pa-signing', 'sti-pa-crl-signer', 'sti-ca-root', 'sti-ca-intermediate'].map((name) => join(sandbox.dataDir, 'pki', 'private', `${name}.key`));
    for (const key of keys) expect((await stat(key)).mode & 0o777).toBe(0o600);
    const x5u = await fetch(`${sandbox.baseUrl}/sti-pa/download/v1/certificate/sti-pa-signing.pem`, { dispatcher: sandbox.dispatcher });
    expect(x5u.headers.get('content-type')).toBe('application/pem-certificate-chain');
    expect(await x5u.text()).not.toContain('PRIVATE KEY');
  });

  it('serves HTTPS only with its own root: a client that does not trust it fails the handshake', async () => {
    const strict = new Agent();
    try {
      await expect(fetch(`${sandbox.acmeDirectory}`, { dispatcher: strict })).rejects.toThrow();
    } finally {
      await strict.close();
    }
    await expect(fetch(sandbox.acmeDirectory.replace('https:', 'http:'))).rejects.toThrow();
  });

  it('exits with 78 naming every bad variable', () => {
    const result = spawnSync(process.execPath, ['--import', './scripts/register-aliases.mjs', 'dist/apps/sti-sandbox/src/main.js'], {
      cwd: repoRoot,
      env: { ...process.env, SANDBOX_PORT: 'eighty', SANDBOX_FAULT_BAD_NONCE_RATE: '3', SANDBOX_REQUIRE_EAB: 'maybe' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(78);
    for (const name of ['SANDBOX_PORT', 'SANDBOX_FAULT_BAD_NONCE_RATE', 'SANDBOX_REQUIRE_EAB']) expect(result.stderr).toContain(name);
    expect(result.stdout).toBe('');
  });
});

describe('startSandbox (programmatic, in this process)', () => {
  let dataDir: string;
  let running: RunningSandbox | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sti-sandbox-inproc-'));
  });
  afterAll(async () => {
    await running?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on a free port, answers over HTTPS with its TLS root, and keeps its roots across a restart', async () => {
    running = await startSandbox({ dataDir, port: 0, env: { SANDBOX_LOG_LEVEL: 'silent' } });
    const agent = new Agent({ connect: { ca: await readFile(running.paths.tlsRoot, 'utf8') } });
    try {
      const directory = await fetch(running.acmeDirectory, { dispatcher: agent });
      expect(directory.status).toBe(200);
      expect(directory.headers.get('replay-nonce')).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(await directory.json()).toMatchObject({ newOrder: `${running.baseUrl}/acme/new-order` });
    } finally {
      await agent.close();
    }
    const rootBefore = await readFile(running.paths.stiCaRoot, 'utf8');
    await running.stop();
    running = await startSandbox({ dataDir, port: 0, env: { SANDBOX_LOG_LEVEL: 'silent' } });
    expect(await readFile(running.paths.stiCaRoot, 'utf8')).toBe(rootBefore);
  });
});
