import 'reflect-metadata';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayUrl, exitCodeFor, formatReport, lintCertificateFiles, lintX5u, toJsonReport } from './lint.command.js';

const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
const fixtureDir = join(repoRoot, 'libs/shaken/src/lint/fixtures/real-certs');
const fixture = (name: string) => join(fixtureDir, name);
const expectations: Array<{ file: string; expected: string[] }> = JSON.parse(readFileSync(fixture('expected.json'), 'utf8'));
const expectedFor = (file: string) => expectations.find((e) => e.file === file)!.expected;

// A real chain (Metaswitch end-entity and its issuing CA) and a leaf with no findings.
const chainPem = readFileSync(fixture('a28d2c246508e2e6.pem'), 'utf8') + readFileSync(fixture('8a7fb50e95b8c43a.pem'), 'utf8');
const goldenPem = readFileSync(fixture('golden-martini-709J.pem'), 'utf8');
const LEAKED_KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIEXAMPLEKEYMATERIALxyzxyzxyzxyzxyzxyzxyzxyzoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n';
const GOOD_HEADERS = { 'content-type': 'application/pem-certificate-chain', 'cache-control': 'public, max-age=86400' };
const X5U_HOST = 'sti-cr.test';

let workDir: string;
let caFile: string;
let caPem: string;
let server: Server;
let port: number;

/** The STI-CR a provider might run: one good path, the usual mistakes on the others. */
function startStiCr(key: string, cert: string): Promise<Server> {
  const routes: Record<string, { status: number; headers: Record<string, string>; body: string }> = {
    '/chain.pem': { status: 200, headers: GOOD_HEADERS, body: chainPem },
    '/golden.pem': { status: 200, headers: GOOD_HEADERS, body: goldenPem },
    '/bad-headers.pem': { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store', pragma: 'no-cache' }, body: chainPem },
    '/moved.pem': { status: 302, headers: { location: '/chain.pem' }, body: '' },
    '/leaky.pem': { status: 200, headers: GOOD_HEADERS, body: chainPem + LEAKED_KEY },
  };
  const https = createServer({ key, cert }, (req, res) => {
    const route = routes[req.url ?? ''];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(route.status, route.headers).end(route.body);
  });
  return new Promise((resolve) => https.listen(0, '127.0.0.1', () => resolve(https)));
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'clm-lint-'));
  caFile = join(workDir, 'sti-cr-ca.pem');
  const keyFile = join(workDir, 'sti-cr-key.pem');
  // The test STI-CR's TLS certificate, self-signed by the openssl binary; it is its own CA.
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${X5U_HOST}`, '-addext', `subjectAltName=DNS:${X5U_HOST},IP:127.0.0.1`,
    '-keyout', keyFile, '-out', caFile,
  ], { stdio: 'ignore' });
  caPem = readFileSync(caFile, 'utf8');
  server = await startStiCr(readFileSync(keyFile, 'utf8'), caPem);
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(workDir, { recursive: true, force: true });
});

const x5u = (path: string) => `https://${X5U_HOST}:8443${path}`;
const connectTo = () => ({ host: '127.0.0.1', port });

describe('lint functions', () => {
  it('lints every certificate of every file and derives the exit status', async () => {
    const bundle = join(workDir, 'bundle.pem');
    writeFileSync(bundle, chainPem);
    const run = await lintCertificateFiles([fixture('golden-martini-709J.pem'), bundle]);
    expect(run.unreadable).toEqual([]);
    expect(run.entries.map((e) => e.findings.map((f) => f.code))).toEqual([
      [],
      expectedFor('a28d2c246508e2e6.pem'),
      expectedFor('8a7fb50e95b8c43a.pem'),
    ]);
    expect(exitCodeFor(run)).toBe(1);
    expect(exitCodeFor({ entries: run.entries.slice(0, 1), unreadable: [] })).toBe(0);
  });

  it('reports unreadable files with a reason and exit status 2', async () => {
    const garbage = join(workDir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate');
    const run = await lintCertificateFiles([join(workDir, 'missing.pem'), garbage, fixture('golden-martini-709J.pem')]);
    expect(run.unreadable).toEqual([
      { file: join(workDir, 'missing.pem'), reason: 'no such file' },
      { file: garbage, reason: 'the input is neither PEM nor DER' },
    ]);
    expect(run.entries).toHaveLength(1);
    expect(exitCodeFor(run)).toBe(2);
  });

  it('reads DER files', async () => {
    const der = join(workDir, 'golden.der');
    execFileSync('openssl', ['x509', '-in', fixture('golden-martini-709J.pem'), '-outform', 'DER', '-out', der]);
    const run = await lintCertificateFiles([der]);
    expect(run.entries).toEqual([{ file: der, subject: expect.stringContaining('CN=SHAKEN 709J'), findings: [] }]);
  });

  it('formats findings with citations for people and without them in JSON', async () => {
    const run = await lintCertificateFiles([fixture('96c66865ce5558c2.pem')]);
    const text = formatReport(run);
    expect(text).toContain('e_atis_subject_cn_root');
    expect(text).toContain('[ATIS-1000080 v005 §6.4.1]');
    expect(text).toContain('1 certificate, 3 errors, 0 warnings');
    const [entry] = toJsonReport(run);
    expect(Object.keys(entry.findings[0])).toEqual(['code', 'severity', 'message']);
  });

  it('hides credentials in URLs it prints', () => {
    expect(displayUrl('https://pub:secret@cr.example/a.pem')).not.toContain('secret');
  });

  it('lints a live x5u: the response first, then each certificate', async () => {
    const run = await lintX5u(x5u('/chain.pem'), { caPem, connectTo: connectTo(), now: new Date('2024-06-01T00:00:00Z') });
    expect(run.entries.map((e) => [e.subject === null ? 'response' : 'certificate', e.findings.map((f) => f.code)])).toEqual([
      ['response', []],
      ['certificate', expectedFor('a28d2c246508e2e6.pem')],
      ['certificate', expectedFor('8a7fb50e95b8c43a.pem')],
    ]);
  });

  it('turns a failed fetch into an unreadable input', async () => {
    const run = await lintX5u(x5u('/chain.pem'), { connectTo: connectTo() });
    expect(run.unreadable).toEqual([{ file: x5u('/chain.pem'), reason: expect.stringMatching(/self[- ]signed/i) }]);
    expect(exitCodeFor(run)).toBe(2);
  });
});

interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function clm(...args: string[]): Promise<ProcessResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/clm.js', ...args], { cwd: repoRoot, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

function findingCodes(json: string): string[][] {
  return (JSON.parse(json) as Array<{ findings: Array<{ code: string }> }>).map((e) => e.findings.map((f) => f.code));
}

describe('clm lint and clm lint-url as processes', () => {
  beforeAll(() => {
    // The command runs from dist/, as users run it; `npm test` builds first (pretest).
    const source = statSync(join(repoRoot, 'apps/clm/src/cli/commands/lint.command.ts')).mtimeMs;
    const built = statSync(join(repoRoot, 'dist/apps/clm/src/cli/commands/lint.command.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (built < source) throw new Error('dist/ is older than the lint command: run `npm run build` (npm test does it first)');
  });

  it('reports exactly the reference codes for all 50 real certificates, exit 1', async () => {
    const files = expectations.map((e) => fixture(e.file));
    const res = await clm('lint', '--json', ...files);
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout) as Array<{ file: string; subject: string; findings: Array<{ code: string; severity: string; message: string }> }>;
    expect(report.map((e) => e.file)).toEqual(files);
    expect(report.map((e) => e.findings.map((f) => f.code))).toEqual(expectations.map((e) => e.expected));
  });

  it('exits 0 with a readable "ok" for a conformant certificate', async () => {
    const res = await clm('lint', fixture('golden-martini-709J.pem'));
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('CN=SHAKEN 709J');
    expect(res.stdout).toContain('ok: no findings');
  });

  it('exits 2 with a clear message for unreadable input', async () => {
    const garbage = join(workDir, 'cli-garbage.bin');
    writeFileSync(garbage, Buffer.from([0x01, 0x02, 0x03]));
    const missing = await clm('lint', join(workDir, 'nope.pem'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot lint ${join(workDir, 'nope.pem')}: no such file`);
    const unreadable = await clm('lint', garbage);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain('neither PEM nor DER');
    const badOption = await clm('lint', '--at', 'someday', fixture('golden-martini-709J.pem'));
    expect(badOption.code).toBe(2);
  });

  it('lint-url: a well-served chain has a clean response; its certificates are still linted', async () => {
    const res = await clm('lint-url', '--json', '--ca-file', caFile, '--connect-to', `127.0.0.1:${port}`, '--at', '2024-06-01', x5u('/chain.pem'));
    expect(res.code).toBe(1);
    expect(findingCodes(res.stdout)).toEqual([[], expectedFor('a28d2c246508e2e6.pem'), expectedFor('8a7fb50e95b8c43a.pem')]);
    expect(JSON.parse(res.stdout)[0]).toMatchObject({ file: x5u('/chain.pem'), subject: null });
  });

  it('lint-url: exits 0 when only warnings remain', async () => {
    const res = await clm('lint-url', '--ca-file', caFile, '--connect-to', `127.0.0.1:${port}`, '--at', '2022-12-01', x5u('/golden.pem'));
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('w_sticr_chain_incomplete');
    expect(res.stdout).toContain('1 certificate, 0 errors, 1 warning');
  });

  it('lint-url: reports bad headers, redirects and a leaked key', async () => {
    const common = ['--json', '--ca-file', caFile, '--connect-to', `127.0.0.1:${port}`, '--at', '2024-06-01'];
    const bad = await clm('lint-url', ...common, x5u('/bad-headers.pem'));
    expect(bad.code).toBe(1);
    expect(findingCodes(bad.stdout)[0]).toEqual([
      'e_sticr_cache_control_max_age',
      'e_sticr_cache_control_no_store',
      'e_sticr_content_type',
      'e_sticr_pragma_no_cache',
      'w_sticr_cache_control_public',
    ]);
    const moved = await clm('lint-url', ...common, x5u('/moved.pem'));
    expect(moved.code).toBe(1);
    expect(findingCodes(moved.stdout)).toEqual([['e_sticr_redirect']]);
    const leaky = await clm('lint-url', ...common, x5u('/leaky.pem'));
    expect(leaky.code).toBe(1);
    expect(findingCodes(leaky.stdout)[0]).toEqual(['e_sticr_private_key_exposed']);
    expect(leaky.stdout + leaky.stderr).not.toContain('EXAMPLEKEYMATERIAL');
  });

  it('lint-url: flags a non-standard port when fetching the server directly', async () => {
    const res = await clm('lint-url', '--json', '--ca-file', caFile, '--at', '2024-06-01', `https://127.0.0.1:${port}/chain.pem`);
    expect(findingCodes(res.stdout)[0]).toEqual(['e_sticr_url_port']);
  });

  it('lint-url: exits 2 when the repository cannot be reached or trusted', async () => {
    const untrusted = await clm('lint-url', '--connect-to', `127.0.0.1:${port}`, x5u('/chain.pem'));
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(/cannot lint .*self[- ]signed/i);
    const refused = await clm('lint-url', '--timeout', '2000', '--connect-to', '127.0.0.1:1', x5u('/chain.pem'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ECONNREFUSED');
  });
});
