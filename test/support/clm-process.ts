import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import { freePort } from './ports.js';
import { stiCrLoopbackHost } from './sti-cr-loopback.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface ClmProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartClmOptions {
  /**
   * `node` (default) runs the compiled entry point directly; `npm-start` runs `npm start` exactly
   * as a user does, in its own process group, and `stop` signals the whole group as a terminal's
   * Ctrl-C would.
   */
  readonly via?: 'node' | 'npm-start';
  /** The root that issued CLM_TLS_CERT_FILE (PEM): with it, the API is reached and checked over https. */
  readonly tlsCaPem?: string;
}

/**
 * Runs the compiled service (`npm test` builds it first) as a real process, with the embedded
 * sandbox off unless `CLM_SANDBOX` is passed, and waits until /healthz answers.
 */
export async function startClm(env: Record<string, string | undefined>, timeoutMs = 60_000, options: StartClmOptions = {}): Promise<ClmProcess> {
  const port = env.CLM_PORT ? Number(env.CLM_PORT) : await freePort();
  // The embedded STI-CR listens on port 8443: each data directory gets its own loopback address.
  const stiCrHost = env.CLM_DATA_DIR ? { CLM_STI_CR_HOST: stiCrLoopbackHost(env.CLM_DATA_DIR) } : {};
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, CLM_LOG_LEVEL: 'info', CLM_SANDBOX: 'off', ...stiCrHost, ...env, CLM_PORT: String(port) })) {
    if (v !== undefined) childEnv[k] = v;
  }
  const viaNpm = options.via === 'npm-start';
  const child = viaNpm
    ? spawn('npm', ['start', '--silent'], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, ['--import', './scripts/register-aliases.mjs', 'dist/apps/clm/src/main.js'], {
        cwd: repoRoot,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (viaNpm && child.pid) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // the group is gone already
    }
  };
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = `${options.tlsCaPem ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dispatcher = options.tlsCaPem ? new Agent({ connect: { ca: options.tlsCaPem } }) : undefined;

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`clm exited with ${child.exitCode} before it was healthy:\n${out}`);
    try {
      const res = await fetch(`${baseUrl}/healthz`, dispatcher ? { dispatcher } : {});
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      signal('SIGKILL');
      throw new Error(`clm not healthy within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await dispatcher?.close();
  return {
    baseUrl,
    port,
    child,
    output: () => out,
    stop: async (sig: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null) signal(sig);
      const timer = setTimeout(() => signal('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The admin token the service prints once on first start. */
export function printedAdminToken(output: string): string | undefined {
  return /\b(clm_admin_[A-Za-z0-9_-]{43})\b/.exec(output)?.[1];
}
