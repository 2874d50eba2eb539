import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';

/** The part of the sandbox's ready line (apps/sti-sandbox/src/main.ts) the benches use. */
export interface BenchSandbox {
  readonly stiPaApi: string;
  readonly acmeDirectory: string;
  readonly paths: { readonly tlsRoot: string; readonly stiPaRoot: string; readonly stiPaCrlSigner: string };
  /** Calls the sandbox admin API (`path` below `/admin`); throws on a non-2xx answer. */
  adminApi<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

interface ReadyLine {
  stiPaApi: string;
  acmeDirectory: string;
  admin: string;
  paths: { tlsRoot: string; stiPaRoot: string; stiPaCrlSigner: string };
}

/**
 * The compiled sandbox (dist/apps/sti-sandbox) as a child process on a free port with a data
 * directory of its own, removed on stop. The benches are built without test/ (tsconfig.build.json),
 * so this is the bench's own small launcher; test/support/sandbox.ts is the tests' fuller one.
 */
export async function startBenchSandbox(env: Record<string, string> = {}): Promise<BenchSandbox> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-sandbox-'));
  const adminSecret = randomBytes(16).toString('hex');
  const child = spawn(process.execPath, ['--import', './scripts/register-aliases.mjs', 'dist/apps/sti-sandbox/src/main.js'], {
    env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_DATA_DIR: dataDir, SANDBOX_ADMIN_SECRET: adminSecret, SANDBOX_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox not ready within 30 s:\n${out}`)), 30_000);
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, newline)) as ReadyLine);
      } catch {
        reject(new Error(`sandbox printed something that is not its ready line:\n${out}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code} before it was ready:\n${out}`)));
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  const dispatcher = new Agent({ connect: { ca: await readFile(line.paths.tlsRoot, 'utf8') } });
  return {
    stiPaApi: line.stiPaApi,
    acmeDirectory: line.acmeDirectory,
    paths: line.paths,
    async adminApi<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${line.admin}${path}`, {
        method,
        dispatcher,
        headers: { authorization: `Bearer ${adminSecret}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`sandbox admin ${method} ${path} answered ${response.status}: ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await dispatcher.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
