import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, fetch } from 'undici';
import { freePort } from './ports.js';

/**
 * Test harness for Pebble, Let's Encrypt's RFC 8555 test CA (Debian package `pebble`, binary
 * /usr/bin/pebble). It runs the real binary on loopback with a TLS certificate made here by the
 * real openssl CLI, random free ports and a config in a temp directory, and stops it afterwards.
 */

const run = promisify(execFile);

export interface PebbleOptions {
  /** PEBBLE_WFE_NONCEREJECT: percentage of valid nonces rejected as badNonce. Unset = Pebble's default (5). */
  nonceRejectPercent?: number;
  /** Config `externalAccountBindingRequired`. */
  externalAccountBindingRequired?: boolean;
  /** Config `externalAccountMACKeys`: EAB kid → base64url HMAC key. */
  externalAccountMacKeys?: Record<string, string>;
  /** PEBBLE_ALTERNATE_ROOTS: extra issuance hierarchies, served as Link rel="alternate" chains. */
  alternateRoots?: number;
  /** How long to wait for the directory to answer. Default 15 s. */
  startTimeoutMs?: number;
}

/** What Pebble's management interface reports for one certificate. */
export interface PebbleCertificateStatus {
  Status: 'Valid' | 'Revoked';
  Serial: string;
  /** RFC 5280 CRLReason, when revoked. */
  Reason?: number;
}

export interface PebbleInstance {
  directoryUrl: string;
  managementUrl: string;
  /** PEM of the self-signed TLS certificate the ACME endpoint presents; trust it in clients. */
  tlsCaPem: string;
  /** PEM of Pebble's issuance root `index` (0 = default chain), from the management interface. */
  rootPem(index?: number): Promise<string>;
  /** Pebble's record for a certificate by serial (hex), from the management interface. */
  certificateStatus(serialHex: string): Promise<PebbleCertificateStatus>;
  /** Last lines Pebble printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** The pebble binary on PATH or at /usr/bin/pebble, or undefined when it is not installed. */
export function findPebbleBinary(): string | undefined {
  const candidates = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'pebble'));
  candidates.push('/usr/bin/pebble');
  return candidates.find((path) => existsSync(path));
}

async function makeTlsCertificate(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'tls-cert.pem');
  const keyPath = join(dir, 'tls-key.pem');
  // Pebble serves ACME only over HTTPS; the client reaches it as https://127.0.0.1, so the
  // certificate needs that IP in its subjectAltName.
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=pebble test 127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext', 'basicConstraints=critical,CA:TRUE',
  ]);
  return { certPath, keyPath };
}

export async function startPebble(options: PebbleOptions = {}): Promise<PebbleInstance> {
  const binary = findPebbleBinary();
  if (!binary) throw new Error('pebble is not installed (apt-get install pebble)');
  const dir = await mkdtemp(join(tmpdir(), 'pebble-'));
  try {
    const { certPath, keyPath } = await makeTlsCertificate(dir);
    const tlsCaPem = await readFile(certPath, 'utf8');
    // A port picked free can be taken before Pebble binds it; one more try with new ports covers that.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(binary, dir, certPath, keyPath, tlsCaPem, options);
      } catch (error) {
        if (attempt >= 3 || !String(error).includes('address already in use')) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(
  binary: string,
  dir: string,
  certPath: string,
  keyPath: string,
  tlsCaPem: string,
  options: PebbleOptions,
): Promise<PebbleInstance> {
  const [acmePort, managementPort, httpPort, tlsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const configPath = join(dir, 'pebble-config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: certPath,
        privateKey: keyPath,
        // Validation ports: unused because PEBBLE_VA_ALWAYS_VALID skips real validation.
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: options.externalAccountBindingRequired ?? false,
        externalAccountMACKeys: options.externalAccountMacKeys ?? {},
      },
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1' };
  delete env.PEBBLE_WFE_NONCEREJECT;
  if (options.nonceRejectPercent !== undefined) env.PEBBLE_WFE_NONCEREJECT = String(options.nonceRejectPercent);
  if (options.alternateRoots !== undefined) env.PEBBLE_ALTERNATE_ROOTS = String(options.alternateRoots);

  const child = spawn(binary, ['-config', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${managementPort}`;
  const agent = new Agent({ connect: { ca: tlsCaPem } });
  // The management interface uses the same certificate as the ACME endpoint.
  const stop = async (): Promise<void> => {
    await agent.close();
    await stopProcess(child, exited);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(directoryUrl, agent, exited, options.startTimeoutMs ?? 15_000, () => output);
  } catch (error) {
    await stopProcess(child, exited);
    await agent.close();
    throw error;
  }

  return {
    directoryUrl,
    managementUrl,
    tlsCaPem,
    output: () => output,
    stop,
    async certificateStatus(serialHex) {
      const response = await fetch(`${managementUrl}/cert-status-by-serial/${serialHex.toLowerCase()}`, {
        dispatcher: agent,
        signal: AbortSignal.timeout(5_000),
      });
      if (response.status !== 200) throw new Error(`pebble /cert-status-by-serial answered ${response.status}`);
      return (await response.json()) as PebbleCertificateStatus;
    },
    async rootPem(index = 0) {
      const response = await fetch(`${managementUrl}/roots/${index}`, { dispatcher: agent, signal: AbortSignal.timeout(5_000) });
      if (response.status !== 200) throw new Error(`pebble /roots/${index} answered ${response.status}`);
      return response.text();
    },
  };
}

async function waitUntilReady(
  directoryUrl: string,
  agent: Agent,
  exited: Promise<number | null>,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`pebble exited with code ${gone} before it was ready:\n${output()}`);
    try {
      const response = await fetch(directoryUrl, { dispatcher: agent, signal: AbortSignal.timeout(1_000) });
      await response.text();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pebble did not answer ${directoryUrl} within ${timeoutMs} ms:\n${output()}`);
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
