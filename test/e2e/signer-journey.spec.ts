import 'reflect-metadata';
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPassport, fetchStiCr, parseCertificate, stiCrDispatcher, verifyPassport } from '@app/shaken';
import type { Agent } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import type { SignerView } from '../../apps/clm/src/signers/signer-clients.service.js';
import { verifyWebhookSignature } from '../../apps/clm/src/webhooks/webhook-signature.js';
import { repoRoot, startClm, type ClmProcess } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { killHard } from '../support/procurement-e2e.js';
import { ok, onboardOverApi, serviceEnv, waitForCertificate } from '../support/publishing-e2e.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

interface Credential {
  ocn: string;
  certificateId: string;
  x5u: string;
  notBefore: string;
  notAfter: string;
  certificateChainPem: string;
  keyFormat: string;
  privateKeyPem: string;
}

/** What the reader thread saw while the agent swapped files under it. */
interface ReaderReport {
  iterations: number;
  pairChecks: number;
  resolvedPairChecks: number;
  mismatches: string[];
  partial: string[];
  vanished: number;
  serials: string[];
}

/**
 * Reads the agent's files in a loop on its own thread, as a file-based signer would, and checks
 * every read: each of key.pem and cert.pem is always a complete PEM of one version; a reader
 * that read key.pem, cert.pem, key.pem and got the same key twice got that key's certificate
 * (an install between the reads changes the key, so equal keys mean no install happened); and a
 * reader that resolves `current` once reads a matching pair from it.
 */
const READER = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { createPrivateKey, createPublicKey, X509Certificate } = require('node:crypto');
const dir = workerData.dir;
const report = { iterations: 0, pairChecks: 0, resolvedPairChecks: 0, mismatches: [], partial: [], vanished: 0, serials: [] };
const serials = new Set();
const keySpki = (pem) => createPublicKey(createPrivateKey(pem)).export({ format: 'der', type: 'spki' }).toString('hex');
const certSpki = (pem) => new X509Certificate(pem).publicKey.export({ format: 'der', type: 'spki' }).toString('hex');
const pause = new Int32Array(new SharedArrayBuffer(4));
function once() {
  const k1 = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
  const c = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  const k2 = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
  report.iterations += 1;
  let k1Spki, cSpki;
  try { k1Spki = keySpki(k1); keySpki(k2); cSpki = certSpki(c); } catch (e) { report.partial.push(String(e.message)); return; }
  serials.add(new X509Certificate(c).serialNumber);
  if (k1 === k2) {
    report.pairChecks += 1;
    if (k1Spki !== cSpki) report.mismatches.push('key.pem/cert.pem read without an install in between do not match');
  }
  let version;
  try {
    version = fs.realpathSync(path.join(dir, 'current'));
    const rk = fs.readFileSync(path.join(version, 'key.pem'), 'utf8');
    const rc = fs.readFileSync(path.join(version, 'cert.pem'), 'utf8');
    report.resolvedPairChecks += 1;
    if (keySpki(rk) !== certSpki(rc)) report.mismatches.push('the pair in ' + version + ' does not match');
  } catch (e) {
    // Only a reader stalled across two installs can lose its version directory.
    if (e.code === 'ENOENT') report.vanished += 1; else report.partial.push(String(e.message));
  }
}
// Synchronous on purpose (no event loop turn between reads); the stop message is polled.
while (!receiveMessageOnPort(workerData.port)) { once(); Atomics.wait(pause, 0, 0, 1); }
report.serials = [...serials];
parentPort.postMessage(report);
`;

/** A loopback webhook receiver (plain http is accepted for loopback receivers). */
class Receiver {
  readonly received: { headers: IncomingHttpHeaders; body: string }[] = [];
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/signer-push`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    return receiver;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Issue 7 end to end, every part a real process: the compiled service (procuring from the sandbox
 * STI-CA process and serving its STI-CR over HTTPS on :8443), a signer that pulls its key and
 * signs a PASSporT a verifier checks against the chain at the x5u, a forced renewal whose new pair
 * reaches a parked long-poll within 1 s and a webhook subscriber, and `clm signer sync` as a child
 * process swapping the files under a reader thread, running --exec, and outliving a killed and
 * restarted service.
 */
describe('signer journey (e2e)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let dataDir: string;
  let env: Record<string, string>;
  let clm: ClmProcess;
  let dispatcher: Agent;
  let receiver: Receiver;
  let agent: ChildProcess | undefined;
  let agentOutput = '';

  beforeAll(async () => {
    [db, sandbox, receiver] = await Promise.all([createTestDatabase(), startSandboxProcess(), Receiver.start()]);
    dataDir = mkdtempSync(join(tmpdir(), 'clm-e2e-signer-'));
    env = serviceEnv({ databaseUrl: db.url, dataDir, sandbox });
    clm = await startClm(env);
    dispatcher = stiCrDispatcher({ caPem: readFileSync(join(dataDir, 'sti-cr-tls', 'root.pem'), 'utf8') });
  }, 120_000);
  afterAll(async () => {
    agent?.kill('SIGKILL');
    await dispatcher?.close();
    await clm?.stop();
    await receiver?.close();
    await sandbox?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function pull(ocn: string, credential: string, query = '', etag?: string) {
    const res = await fetch(`${clm.baseUrl}/signer/v1/credentials/${ocn}${query}`, {
      headers: { authorization: `Bearer ${credential}`, ...(etag ? { 'if-none-match': etag } : {}) },
    });
    const text = await res.text();
    return { status: res.status, etag: res.headers.get('etag'), json: (res.status === 200 ? JSON.parse(text) : undefined) as Credential, receivedAt: Date.now() };
  }

  /** Signs as a signer holding the key would (RFC 8588 claims, ES256 over the key it pulled). */
  function signWith(credential: Credential): Promise<string> {
    const key = createPrivateKey(credential.privateKeyPem);
    return createPassport(
      { attest: 'A', orig: '12025550101', dest: ['12025550199'], x5u: credential.x5u },
      { sign: async (data) => sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) },
    );
  }

  /** Verifies as an STI-VS: the chain fetched over HTTPS from the PASSporT's x5u, a path to the STI-CA root. */
  async function verify(passport: string): Promise<string> {
    const verified = await verifyPassport(passport, {
      fetchChain: async (x5u) => (await fetchStiCr(x5u, { dispatcher })).body,
      trustAnchors: [parseCertificate(sandbox.stiCaRootPem)],
      now: new Date(),
    });
    return verified.spc;
  }

  async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms; agent said:\n${agentOutput.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function renew(certificateId: string): Promise<CertificateView> {
    const started = await ok<CertificateView>(clm, 'POST', `/api/v1/certificates/${certificateId}/renew`, {});
    expect(started.id).not.toBe(certificateId);
    return waitForCertificate(clm, started.id, (v) => v.state === 'active' || v.state === 'failed');
  }

  it('pull, sign, verify; a forced renewal reaches the long-poll, the webhook and the sync agent, which swaps atomically and outlives a restart', async () => {
    try {
      await journey();
    } catch (error) {
      // The service's own account of what went wrong, next to the assertion.
      console.error(`service output (tail):\n${clm.output().slice(-6000)}\nagent output (tail):\n${agentOutput.slice(-3000)}`);
      throw error;
    }
  }, 240_000);

  async function journey(): Promise<void> {
    // A provider with an active certificate procured from the sandbox, and a signer for its OCN.
    const target = await onboardOverApi(clm, sandbox);
    const firstView = await waitForCertificate(clm, (await ok<CertificateView>(clm, 'POST', '/api/v1/certificates', target)).id, (v) => v.state === 'active' || v.state === 'failed');
    expect(firstView.state).toBe('active');
    const signer = await ok<SignerView & { credential: string }>(clm, 'POST', '/api/v1/signers', { name: 'sbc-e2e', ocns: [target.ocn] });
    const hook = await ok<{ id: string; secret: string }>(clm, 'POST', '/api/v1/webhooks', { url: receiver.url, events: ['certificate.activated'] });

    // 1. The signer pulls its credential, signs a PASSporT, and a verifier accepts it via the x5u.
    const first = await pull(target.ocn, signer.credential);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ ocn: target.ocn, certificateId: firstView.id, x5u: firstView.x5u, keyFormat: 'sec1' });
    expect(first.json.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    const firstPassport = await signWith(first.json);
    expect(await verify(firstPassport)).toBe(target.ocn);

    // 2. The sync agent, a real child process, installs the pair and runs --exec.
    const dir = join(dataDir, 'signer');
    const hookLog = join(dataDir, 'exec.log');
    agent = spawn(process.execPath, [
      'bin/clm.js', 'signer', 'sync', '--server', clm.baseUrl, '--ocn', target.ocn, '--dir', dir,
      '--exec', `printf '%s %s\\n' "$CLM_SIGNER_CERTIFICATE_ID" "$(cat "$CLM_SIGNER_DIR/x5u")" >> '${hookLog}'`,
    ], { cwd: repoRoot, env: { ...process.env, CLM_SIGNER_CREDENTIAL: signer.credential }, stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d: Buffer) => (agentOutput += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentOutput += d.toString()));
    const hookLines = () => (existsSync(hookLog) ? readFileSync(hookLog, 'utf8').trim().split('\n') : []);
    await waitUntil('the first install and its --exec', () => hookLines().length === 1);
    expect(hookLines()).toEqual([`${firstView.id} ${firstView.x5u}`]);
    expect(readFileSync(join(dir, 'x5u'), 'utf8')).toBe(firstView.x5u);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(first.json.certificateChainPem);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(agentOutput).not.toContain(signer.credential);
    expect(agentOutput).not.toContain('PRIVATE KEY');

    // A signer reading the files all along, on its own thread.
    const stopReader = new MessageChannel();
    const reader = new Worker(READER, { eval: true, workerData: { dir, port: stopReader.port2 }, transferList: [stopReader.port2] });
    const readerReport = new Promise<ReaderReport>((resolve, reject) => {
      reader.once('message', resolve);
      reader.once('error', reject);
    });
    const inode = () => ({ key: statSync(join(dir, 'key.pem')).ino, cert: statSync(join(dir, 'cert.pem')).ino, x5u: statSync(join(dir, 'x5u')).ino, current: lstatSync(join(dir, 'current')).ino });
    const inodesBefore = inode();

    // 3. A parked long-poll, then a forced renewal: the new pair arrives within 1 s of activation.
    const parked = pull(target.ocn, signer.credential, '?wait=60', first.etag!);
    const renewedView = await renew(firstView.id);
    expect(renewedView.state).toBe('active');
    const renewed = await parked;
    expect(renewed.status).toBe(200);
    expect(renewed.json).toMatchObject({ certificateId: renewedView.id, x5u: renewedView.x5u });
    expect(renewed.json.x5u).not.toBe(first.json.x5u);
    const longPollLagMs = renewed.receivedAt - new Date(renewedView.activatedAt!).getTime();
    expect(longPollLagMs).toBeLessThan(1_000);
    expect(await verify(await signWith(renewed.json))).toBe(target.ocn);

    // The agent swapped the files by rename (new inodes), then ran --exec.
    await waitUntil('the renewed install and its --exec', () => hookLines().length === 2);
    expect(hookLines()[1]).toBe(`${renewedView.id} ${renewedView.x5u}`);
    expect(readFileSync(join(dir, 'x5u'), 'utf8')).toBe(renewedView.x5u);
    expect(readFileSync(join(dir, 'key.pem'), 'utf8')).toBe(renewed.json.privateKeyPem);
    const installedAt = Date.parse((JSON.parse(readFileSync(join(dir, 'current', 'credential.json'), 'utf8')) as { installedAt: string }).installedAt);
    const agentLagMs = installedAt - new Date(renewedView.activatedAt!).getTime();
    expect(agentLagMs).toBeLessThan(2_000);
    const inodesAfter = inode();
    for (const name of ['key', 'cert', 'x5u', 'current'] as const) expect(inodesAfter[name], name).not.toBe(inodesBefore[name]);

    // The previous pair stays good until its notAfter: its x5u still serves, its PASSporTs verify.
    expect(new Date(firstView.notAfter!).getTime()).toBeGreaterThan(Date.now());
    expect(await verify(await signWith(first.json))).toBe(target.ocn);

    // Signers that prefer push got the activation, signed, naming the pair it supersedes.
    await waitUntil('the certificate.activated webhook', () => receiver.received.length > 0);
    const delivered = receiver.received[0]!;
    expect(verifyWebhookSignature(hook.secret, delivered.body, delivered.headers['x-clm-signature'] as string, { toleranceSeconds: 300, now: new Date() })).toBe(true);
    expect(JSON.parse(delivered.body)).toMatchObject({
      type: 'certificate.activated',
      subject: { type: 'certificate', id: renewedView.id },
      data: { ocn: target.ocn, x5u: renewedView.x5u, supersedes: firstView.id, supersededX5u: firstView.x5u, supersededNotAfter: new Date(firstView.notAfter!).toISOString() },
    });

    // 4. The service is killed: the agent keeps the files and retries; restarted, it picks up the next pair.
    await killHard(clm);
    await waitUntil('the agent noticing the outage', () => /pull failed/.test(agentOutput), 20_000);
    expect(agent.exitCode).toBeNull();
    expect(readFileSync(join(dir, 'x5u'), 'utf8')).toBe(renewedView.x5u);
    clm = await startClm({ ...env, CLM_PORT: String(clm.port) });
    const thirdView = await renew(renewedView.id);
    expect(thirdView.state).toBe('active');
    await waitUntil('the install after the restart', () => hookLines().length === 3);
    expect(hookLines()[2]).toBe(`${thirdView.id} ${thirdView.x5u}`);
    expect(readFileSync(join(dir, 'x5u'), 'utf8')).toBe(thirdView.x5u);

    // The reader never saw a partial file or a mismatched pair.
    stopReader.port1.postMessage('stop');
    const report = await readerReport;
    await reader.terminate();
    expect(report.partial).toEqual([]);
    expect(report.mismatches).toEqual([]);
    expect(report.pairChecks).toBeGreaterThan(100);
    expect(report.resolvedPairChecks).toBeGreaterThan(100);
    expect(report.serials).toHaveLength(3);

    // Stopped, the agent exits cleanly.
    const exited = new Promise<number | null>((resolve) => agent!.once('exit', (code) => resolve(code)));
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    agent = undefined;
    console.log(`signer journey: long-poll ${longPollLagMs} ms and sync agent ${agentLagMs} ms after activation; reader: ${report.iterations} reads, ${report.pairChecks} pair checks`);
  }
});
