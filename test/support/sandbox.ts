import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AcmeClient, type AcmeClientOptions } from '@app/acme';
import { generateP256KeyPair, type CryptoKeyPair } from '@app/shaken';
import { StiPaClient, type StiPaClientOptions } from '@app/sti-pa';
import { Agent, fetch } from 'undici';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** What the sandbox prints on stdout once it listens (apps/sti-sandbox/src/main.ts). */
export interface SandboxReadyLine {
  ready: true;
  baseUrl: string;
  stiPaApi: string;
  stiPaCrl: string;
  acmeDirectory: string;
  admin: string;
  dataDir: string;
  paths: {
    dataDir: string;
    tlsRoot: string;
    stiPaRoot: string;
    stiPaSigning: string;
    stiPaCrlSigner: string;
    stiPaCrlSignerByStiCa: string;
    stiCaRoot: string;
    stiCaIntermediate: string;
    adminSecret?: string;
  };
}

export interface SandboxProcess extends SandboxReadyLine {
  child: ChildProcess;
  /** PEM of the TLS root the HTTPS listener chains to. */
  tlsRootPem: string;
  stiPaRootPem: string;
  stiCaRootPem: string;
  /** An undici dispatcher that trusts the sandbox TLS root (and nothing else). */
  dispatcher: Agent;
  adminSecret: string;
  /** Calls the admin API (`path` below `/admin`); throws on a non-2xx answer. */
  adminApi<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<number | null>;
  /**
   * Stops the process and starts a new one on the same port and data directory (state and PKI
   * survive, in-memory sessions and nonces do not). The new process owns the data directory.
   */
  restart(env?: Record<string, string>): Promise<SandboxProcess>;
}

export interface StartSandboxProcessOptions {
  /** Extra SANDBOX_* variables. */
  env?: Record<string, string>;
  /** Reuse a data directory (restart tests); default a fresh temp directory, removed on stop. */
  dataDir?: string;
  /** Remove `dataDir` on stop even though it was given (a restarted sandbox inherits this). */
  ownsDataDir?: boolean;
  timeoutMs?: number;
}

const ADMIN_SECRET = 'test-admin-secret-0123456789';

/**
 * Starts the compiled sandbox (`npx tsc -p tsconfig.build.json` first) as a real child process on
 * a free port with its own data directory, and waits for its ready line.
 */
export async function startSandboxProcess(options: StartSandboxProcessOptions = {}): Promise<SandboxProcess> {
  const ownDir = options.dataDir === undefined || options.ownsDataDir === true;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'sti-sandbox-')));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('SANDBOX_')) env[key] = value;
  Object.assign(env, { SANDBOX_PORT: '0', SANDBOX_DATA_DIR: dataDir, SANDBOX_ADMIN_SECRET: ADMIN_SECRET, SANDBOX_LOG_LEVEL: 'warn' }, options.env);

  const child = spawn(process.execPath, ['--import', './scripts/register-aliases.mjs', 'dist/apps/sti-sandbox/src/main.js'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdoutBuffer = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<SandboxReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox not ready within ${options.timeoutMs ?? 30_000} ms:\n${out}`)), options.timeoutMs ?? 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      stdoutBuffer += chunk.toString();
      const newline = stdoutBuffer.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(stdoutBuffer.slice(0, newline)) as SandboxReadyLine);
        } catch {
          reject(new Error(`sandbox printed something that is not its ready line:\n${out}`));
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sandbox exited with ${code} before it was ready:\n${out}`));
    });
  });
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));

  let line: SandboxReadyLine;
  try {
    line = await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const [tlsRootPem, stiPaRootPem, stiCaRootPem] = await Promise.all(
    [line.paths.tlsRoot, line.paths.stiPaRoot, line.paths.stiCaRoot].map((path) => readFile(path, 'utf8')),
  );
  const dispatcher = new Agent({ connect: { ca: tlsRootPem } });
  const adminSecret = options.env?.SANDBOX_ADMIN_SECRET ?? ADMIN_SECRET;

  return {
    ...line,
    child,
    tlsRootPem: tlsRootPem as string,
    stiPaRootPem: stiPaRootPem as string,
    stiCaRootPem: stiCaRootPem as string,
    dispatcher,
    adminSecret,
    output: () => out,
    async adminApi<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${line.admin}${path}`, {
        method,
        dispatcher,
        headers: { authorization: `Bearer ${adminSecret}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`admin ${method} ${path} answered ${response.status}: ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    stop: () => stop(ownDir),
    async restart(extraEnv: Record<string, string> = {}): Promise<SandboxProcess> {
      await stop(false);
      const env = { ...options.env, ...extraEnv, SANDBOX_PORT: new URL(line.baseUrl).port };
      return startSandboxProcess({ ...options, dataDir, ownsDataDir: ownDir, env });
    },
  };

  async function stop(removeData: boolean): Promise<number | null> {
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    await dispatcher.close();
    if (removeData) await rm(dataDir, { recursive: true, force: true });
    return code;
  }
}

export interface SandboxClientOptions {
  stiPa?: Partial<StiPaClientOptions>;
  acme?: Partial<AcmeClientOptions>;
  /** Default: a fresh P-256 key. */
  accountKey?: CryptoKeyPair;
}

/**
 * An STI-PA client logged in as the seeded demo user and an ACME client for the sandbox STI-CA,
 * both trusting only the sandbox TLS root, with short timeouts and fast polling for tests.
 */
export async function sandboxClients(sandbox: SandboxProcess, options: SandboxClientOptions = {}): Promise<{ stiPa: StiPaClient; acme: AcmeClient; close(): Promise<void> }> {
  const stiPa = new StiPaClient({
    baseUrl: sandbox.stiPaApi,
    credentials: { userId: 'demo', password: 'demo-password' },
    stiPaRootsPem: sandbox.stiPaRootPem,
    transport: { trustedCaPem: sandbox.tlsRootPem, requestTimeoutMs: 10_000 },
    retry: { baseDelayMs: 20, maxDelayMs: 100 },
    ...options.stiPa,
  });
  const acme = new AcmeClient({
    directoryUrl: sandbox.acmeDirectory,
    accountKey: options.accountKey ?? (await generateP256KeyPair()),
    transport: { trustedCaPem: sandbox.tlsRootPem, requestTimeoutMs: 10_000 },
    polling: { defaultIntervalMs: 100, maxIntervalMs: 1_000, maxTotalWaitMs: 20_000 },
    ...options.acme,
  });
  return {
    stiPa,
    acme,
    close: async () => {
      await Promise.all([stiPa.close(), acme.close()]);
    },
  };
}
