import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger as Pino } from 'pino';
import { childEnv } from '@app/db';

/** What the sandbox's ready line tells us (apps/sti-sandbox/src/main.ts). */
export interface EmbeddedSandbox {
  readonly baseUrl: string;
  readonly stiPaApi: string;
  readonly acmeDirectory: string;
  /** PEM of the sandbox's loopback TLS root: trusted for HTTPS to it, nothing else. */
  readonly tlsRootPem: string;
  /** PEM of the sandbox STI-PA root: pinned like iconectiv's root in production. */
  readonly stiPaRootPem: string;
  stop(): Promise<void>;
}

interface ReadyLine {
  ready: true;
  baseUrl: string;
  stiPaApi: string;
  acmeDirectory: string;
  paths: { tlsRoot: string; stiPaRoot: string };
}

/** The package folder (holding dist/ and scripts/), found from this file in src or in dist. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'scripts', 'register-aliases.mjs'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the shaken-clm package folder');
    dir = parent;
  }
  return dir;
}
const START_TIMEOUT_MS = 30_000;

/**
 * The embedded default's local STI-PA + STI-CA (apps/sti-sandbox), run as a child process on
 * loopback with its state under `<dataDir>/sti-sandbox`, so a new user can onboard and obtain a
 * certificate without any external account. It is a separate process, not a module of this app,
 * so that the service talks to it exactly as it would to the real authorities: over HTTPS.
 */
export async function startEmbeddedSandbox(dataDir: string, port: number, log: Pino): Promise<EmbeddedSandbox> {
  const root = packageRoot();
  const entry = join(root, 'dist', 'apps', 'sti-sandbox', 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`the STI sandbox is not built (${entry} missing): run npm run build`);
  const child = spawn(
    process.execPath,
    ['--import', join(root, 'scripts', 'register-aliases.mjs'), entry],
    {
      // Only what it needs: the service's secrets (CLM_MASTER_KEY, admin token, DATABASE_URL) stay here.
      env: childEnv({ SANDBOX_HOST: '127.0.0.1', SANDBOX_PORT: String(port), SANDBOX_DATA_DIR: join(dataDir, 'sti-sandbox') }),
      // The IPC channel closes when this process dies, however it dies: the sandbox then exits too.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  const sandboxLog = log.child({ component: 'sti-sandbox' });
  forwardLogs(child, sandboxLog);
  const ready = await readyLine(child);
  const sandbox: EmbeddedSandbox = {
    baseUrl: ready.baseUrl,
    stiPaApi: ready.stiPaApi,
    acmeDirectory: ready.acmeDirectory,
    tlsRootPem: readFileSync(ready.paths.tlsRoot, 'utf8'),
    stiPaRootPem: readFileSync(ready.paths.stiPaRoot, 'utf8'),
    stop: () => stopChild(child),
  };
  sandboxLog.info({ url: ready.baseUrl, stiPaApi: ready.stiPaApi, acmeDirectory: ready.acmeDirectory }, 'embedded STI sandbox running');
  return sandbox;
}

function readyLine(child: ChildProcess): Promise<ReadyLine> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => fail(new Error(`the embedded STI sandbox did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('exit', (code) => fail(new Error(`the embedded STI sandbox exited with code ${code} before it was ready (see its log lines)`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as Partial<ReadyLine>;
          if (parsed.ready === true && parsed.baseUrl && parsed.paths) {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            resolve(parsed as ReadyLine);
            return;
          }
        } catch {
          // not the ready line
        }
      }
    });
  });
}

/** The sandbox logs JSON to stderr; pass its lines on under our logger so one stream shows all. */
function forwardLogs(child: ChildProcess, log: Pino): void {
  let pending = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      try {
        const { level, msg, ...fields } = JSON.parse(line) as { level?: number; msg?: string };
        const method = typeof level === 'number' && level >= 50 ? 'error' : typeof level === 'number' && level >= 40 ? 'warn' : 'debug';
        log[method]({ sandbox: fields }, msg ?? '');
      } catch {
        log.info(line);
      }
    }
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
