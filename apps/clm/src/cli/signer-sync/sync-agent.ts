import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CredentialClient } from './credential-client.js';
import { checkCredential, installCredential, readInstalled } from './credential-files.js';

export interface SyncOptions {
  readonly server: string;
  readonly credential: string;
  readonly ocn: string;
  readonly dir: string;
  readonly keyFormat: 'sec1' | 'pkcs8';
  /** Shell command run after each change (e.g. `asterisk -rx "module reload res_stir_shaken.so"`). */
  readonly exec?: string;
  readonly caFile?: string;
  /** One pull without waiting, then return (for cron or a first install). */
  readonly once?: boolean;
  /** Long-poll length asked of the server, seconds. */
  readonly waitSeconds?: number;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** Ends a hung --exec command. */
const EXEC_TIMEOUT_MS = 120_000;

/**
 * Backoff after a failed pull: 0.5 s doubling to 15 s while the server is unreachable or failing
 * (a restart is picked up within seconds), 5 s doubling to 5 min while it refuses us (a
 * misconfiguration a human must fix; no point hammering it). ±20 % jitter so agents restarted
 * together do not retry in step.
 */
export function retryDelayMs(failures: number, refused: boolean): number {
  const [base, cap] = refused ? [5_000, 300_000] : [500, 15_000];
  const delay = Math.min(cap, base * 2 ** Math.max(0, failures - 1));
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

/**
 * `clm signer sync`: keeps a file-based signer's key, certificate and x5u current. It long-polls
 * the pull API with the installed ETag, installs each new pair atomically (credential-files.ts)
 * after checking the key is the certificate's, runs the --exec command, and retries with backoff
 * whenever the server is unreachable, restarting or refusing. The files in place are never touched
 * by a failure: the signer keeps signing with the last good pair (which stays valid until its
 * notAfter, and whose x5u keeps serving). Neither the key nor the credential is ever logged.
 * Returns the process exit code (for --once, or when stopped).
 */
export async function runSignerSync(options: SyncOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} clm signer sync: ${line}\n`));
  const client = new CredentialClient({ server: options.server, credential: options.credential, ...(options.caFile ? { caFile: options.caFile } : {}) });
  const waitSeconds = options.once ? 0 : (options.waitSeconds ?? 60);
  let installed = await readInstalled(options.dir);
  let etag = installed?.ocn === options.ocn ? installed.etag : undefined;
  if (installed && etag) log(`installed: certificate ${installed.certificateId} for OCN ${options.ocn}, x5u ${installed.x5u}`);
  let failures = 0;
  let lastProblem = '';
  try {
    while (!options.signal?.aborted) {
      let refused = false;
      try {
        const result = await client.pull({ ocn: options.ocn, keyFormat: options.keyFormat, waitSeconds, ...(etag ? { etag } : {}), ...(options.signal ? { signal: options.signal } : {}) });
        if (result.kind === 'changed') {
          checkCredential(result.credential);
          const version = await installCredential(options.dir, result.credential, result.etag);
          etag = result.etag;
          installed = await readInstalled(options.dir);
          log(`installed certificate ${result.credential.certificateId} for OCN ${options.ocn} (x5u ${result.credential.x5u}, valid until ${result.credential.notAfter}) in ${version}`);
          failures = 0;
          lastProblem = '';
          if (options.exec) await runHook(options.exec, options, result.credential.certificateId, result.credential.x5u, result.credential.notAfter, log);
          if (options.once) return 0;
          continue;
        }
        if (result.kind === 'unchanged') {
          if (lastProblem) log('the server answers again; the installed certificate is current');
          failures = 0;
          lastProblem = '';
          if (options.once) return 0;
          continue;
        }
        // Waiting for the OCN's first certificate is normal: the server long-polled for it already.
        if (result.code === 'SIGNER.NO_ACTIVE_CERTIFICATE' && !options.once) {
          if (lastProblem !== result.code) log(`OCN ${options.ocn} has no active certificate yet; waiting for it`);
          lastProblem = result.code;
          failures = 0;
          await sleep(1_000, options.signal);
          continue;
        }
        refused = result.status < 500;
        const problem = `the server refused (${result.status} ${result.code}: ${result.detail})`;
        if (problem !== lastProblem) log(problem);
        lastProblem = problem;
        if (options.once) return 1;
      } catch (error) {
        if (options.signal?.aborted) break;
        const problem = `pull failed: ${describe(error)}`;
        if (problem !== lastProblem) log(problem);
        lastProblem = problem;
        if (options.once) return 1;
      }
      failures += 1;
      const delay = retryDelayMs(failures, refused);
      log(`retrying in ${(delay / 1000).toFixed(1)} s${installed ? ` (certificate ${installed.certificateId} stays in place)` : ''}`);
      await sleep(delay, options.signal);
    }
    return 0;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Runs the --exec command after a change, without the signer credential in its environment. */
function runHook(command: string, options: SyncOptions, certificateId: string, x5u: string, notAfter: string, log: (line: string) => void): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CLM_SIGNER_CREDENTIAL;
  Object.assign(env, {
    CLM_SIGNER_DIR: options.dir,
    CLM_SIGNER_OCN: options.ocn,
    CLM_SIGNER_CERTIFICATE_ID: certificateId,
    CLM_SIGNER_X5U: x5u,
    CLM_SIGNER_NOT_AFTER: notAfter,
    CLM_SIGNER_KEY_FILE: join(options.dir, 'key.pem'),
    CLM_SIGNER_CERT_FILE: join(options.dir, 'cert.pem'),
  });
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGTERM'), EXEC_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      log(`--exec could not start: ${error.message}`);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      log(code === 0 ? '--exec command succeeded' : `--exec command failed (${signal ?? `exit ${code}`}); the new files are in place`);
      resolve();
    });
  });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  return `${error.message}${typeof code === 'string' && !error.message.includes(code) ? ` (${code})` : ''}`.slice(0, 300);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
