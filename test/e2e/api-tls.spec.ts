import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStiCrTls } from '../../apps/clm/src/publishing/embedded/sti-cr-tls.js';
import { runCli } from '../support/clm-cli.js';
import { type ClmProcess, repoRoot, startClm } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freshOcn } from '../support/factories.js';

const ADMIN_TOKEN = `clm_admin_tls_${randomBytes(24).toString('hex')}`;

/** The built service (`service`) or `clm` (bin/clm.js) as an operator runs it; a hung process shows as status null. */
function runNode(what: 'service' | 'clm', args: readonly string[], env: Record<string, string | undefined>) {
  const entry = what === 'service' ? ['--import', './scripts/register-aliases.mjs', 'dist/apps/clm/src/main.js'] : ['bin/clm.js'];
  return spawnSync(process.execPath, [...entry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

/**
 * The API listener hands out private keys (GET /signer/v1/credentials/{ocn}): it serves HTTPS with
 * CLM_TLS_CERT_FILE/CLM_TLS_KEY_FILE, refuses a non-loopback address without them, and the `clm`
 * clients verify it with --ca-file and refuse plain http off loopback. One service process, on
 * 0.0.0.0 as a deployment for remote SBCs runs it, with a certificate from the local TLS issuer.
 */
describe('API over TLS (real service process)', () => {
  let db: TestDatabase;
  let scratch: string;
  let clm: ClmProcess;
  let files: { cert: string; key: string; root: string; credential: string };
  let dispatcher: Agent;
  let ocn: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'clm-api-tls-'));
    const tlsDir = join(scratch, 'tls');
    const [database, tls] = await Promise.all([createTestDatabase(), ensureStiCrTls(tlsDir, ['127.0.0.1', 'localhost'])]);
    db = database;
    files = { cert: join(tlsDir, 'server.pem'), key: join(tlsDir, 'server.key'), root: join(tlsDir, 'root.pem'), credential: join(scratch, 'credential') };
    clm = await startClm(
      { DATABASE_URL: db.url, CLM_DATA_DIR: join(scratch, 'data'), CLM_HOST: '0.0.0.0', CLM_TLS_CERT_FILE: files.cert, CLM_TLS_KEY_FILE: files.key, CLM_ADMIN_TOKEN: ADMIN_TOKEN },
      60_000,
      { tlsCaPem: tls.rootPem },
    );
    dispatcher = new Agent({ connect: { ca: tls.rootPem } });
    // A provider with one OCN, over the admin API (https, the certificate checked against the root).
    const post = async (path: string, body: unknown) => {
      const res = await fetch(clm.baseUrl + path, {
        method: 'POST',
        dispatcher,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { id: string };
      if (res.status >= 300) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(json)}`);
      return json;
    };
    ocn = freshOcn();
    const provider = await post('/api/v1/providers', {
      legalName: 'TLS Telecom LLC',
      frn: String(randomInt(0, 10_000_000_000)).padStart(10, '0'),
      contactEmail: 'noc@example.net',
    });
    await post(`/api/v1/providers/${provider.id}/ocns`, { ocn });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await clm?.stop();
    await db?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('serves https only, and says so in one line at start', async () => {
    expect(clm.baseUrl).toMatch(/^https:/);
    expect(clm.output()).toContain(`shaken-clm listening on https://0.0.0.0:${clm.port}: https (certificate ${files.cert})`);
    const health = await fetch(`${clm.baseUrl}/healthz`, { dispatcher });
    expect(health.status).toBe(200);
    // No plain http next to it: a client that forgot the s gets no answer at all.
    await expect(fetch(`http://127.0.0.1:${clm.port}/healthz`)).rejects.toThrow();
  });

  it('the admin CLI works over https with --ca-file, and fails closed without it', async () => {
    const target = { server: clm.baseUrl, token: ADMIN_TOKEN };
    const unverified = await runCli(target, 'signer', 'list');
    expect(unverified.code).toBe(1);
    expect(unverified.stderr).toMatch(/CLI\.SERVER_UNREACHABLE: cannot reach https:\/\/127\.0\.0\.1:\d+ \(fetch failed: .*certificate/);

    const created = await runCli(target, 'signer', 'create', '--name', 'sbc-tls', '--ocn', ocn, '--ca-file', files.root);
    expect(created.stderr).toContain(`created signer "sbc-tls"`);
    expect(created.code).toBe(0);
    const credential = created.stdout.trim();
    expect(credential).toMatch(/^clm_signer_[A-Za-z0-9_-]{43}$/);
    writeFileSync(files.credential, `${credential}\n`, { mode: 0o600 });

    const listed = await runCli(target, 'signer', 'list', '--ca-file', files.root);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('sbc-tls');
  });

  it('signer sync pulls over https, verifying the server with --ca-file; without it, no credential is sent to an unverified server', async () => {
    expect(existsSync(files.credential), 'the previous test made the signer').toBe(true);
    const dir = join(scratch, 'signer');
    const sync = (...extra: string[]) =>
      runNode('clm', ['signer', 'sync', '--server', clm.baseUrl, '--ocn', ocn, '--dir', dir, '--credential-file', files.credential, '--once', ...extra], {});

    const verified = sync('--ca-file', files.root);
    // Authenticated over verified TLS: the service answers for this signer's OCN (which has no
    // certificate yet), not 401 and not a TLS failure.
    expect(verified.stderr).toMatch(/the server refused \(404 SIGNER\.NO_ACTIVE_CERTIFICATE: OCN \w{4} has no active certificate yet\)/);
    expect(verified.status).toBe(1);

    const unverified = sync();
    expect(unverified.status).toBe(1);
    expect(unverified.stderr).toMatch(/pull failed: .*certificate/i);
    expect(unverified.stderr).not.toContain(readFileSync(files.credential, 'utf8').trim());
  });
});

describe('plain http refused where it would cross a network', () => {
  it('the service will not start on CLM_HOST=0.0.0.0 without TLS: exit 78, naming the variables and why', () => {
    const result = runNode('service', [], { CLM_HOST: '0.0.0.0', CLM_PORT: '0', CLM_TLS_CERT_FILE: undefined, CLM_TLS_KEY_FILE: undefined, CLM_ALLOW_PLAINTEXT_API: undefined });
    expect(result.status).toBe(78);
    for (const word of ['CLM_HOST: 0.0.0.0 is not a loopback address', 'CLM_TLS_CERT_FILE', 'CLM_TLS_KEY_FILE', 'CLM_ALLOW_PLAINTEXT_API=true', 'private keys']) {
      expect(result.stderr).toContain(word);
    }
  });

  it('signer sync refuses a non-loopback http server before connecting, even with --insecure-http', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clm-sync-refused-'));
    try {
      // No --once: had it connected, it would retry until the 20 s timeout (status null).
      const args = ['signer', 'sync', '--server', 'http://192.0.2.10:8080', '--ocn', '818H', '--dir', join(dir, 'files'), '--credential', `clm_signer_${'A'.repeat(43)}`];
      const refused = runNode('clm', args, { CLM_SIGNER_CREDENTIAL: undefined });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('clm signer sync: refusing http://192.0.2.10:8080');
      expect(refused.stderr).toContain('use https://192.0.2.10:8080');
      expect(refused.stderr).not.toContain('A'.repeat(43));
      const overridden = runNode('clm', ['signer', '--insecure-http', ...args.slice(1)], { CLM_SIGNER_CREDENTIAL: undefined });
      expect(overridden.status).toBe(2);
      expect(overridden.stderr).toContain('--insecure-http does not apply to signer sync');
      expect(existsSync(join(dir, 'files'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the admin CLI refuses a non-loopback http server unless told --insecure-http', () => {
    const refused = runNode('clm', ['signer', 'list', '--server', 'http://192.0.2.10:8080', '--token', ADMIN_TOKEN], {});
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('CLI.INSECURE_SERVER_URL: refusing http://192.0.2.10:8080');
    expect(refused.stderr).toContain('--insecure-http');
  });
});
