import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/**
 * Test harness for s3rver (npm), a fake S3 over real HTTP: the s3rver CLI runs as its own process
 * on a free loopback port with a temporary data directory and a pre-created bucket. Stopping,
 * freezing and restarting that process gives real outages: refused connections (stop), a port that
 * accepts connections but never answers (freeze, SIGSTOP), and recovery on the same port with the
 * same data (start, thaw).
 *
 * s3rver checks that the access key id is known (S3RVER) but not much else, ignores
 * `If-None-Match` on PutObject, needs path-style addressing (TOOLCHAIN.md), and cannot paginate
 * listings on OpenSSL 3 (keep listings under 1000 keys).
 */

export interface S3rverOptions {
  /** Bucket created at start. Default `sti-cr`. */
  readonly bucket?: string;
  /** How long to wait for the server to answer after (re)starting. Default 15 s. */
  readonly startTimeoutMs?: number;
}

export interface S3rverInstance {
  /** `http://127.0.0.1:<port>`: the S3 endpoint (use path-style). */
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  readonly region: string;
  /** The credentials s3rver knows; any other access key id is answered 403 InvalidAccessKeyId. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** s3rver's data directory (objects and their metadata on disk). */
  readonly directory: string;
  /** Path-style public URL of an object in the bucket: `<endpoint>/<bucket>/<objectKey>`. */
  objectUrl(objectKey: string): string;
  /** Kills the process and waits for it to exit: connections are refused until `start`. */
  stop(): Promise<void>;
  /** Starts the process again on the same port and directory, and waits until it answers. */
  start(): Promise<void>;
  /** SIGSTOP: the port still accepts connections, nothing answers (a hung store). */
  freeze(): void;
  /** SIGCONT after `freeze`; queued requests are then processed. */
  thaw(): void;
  /** The last lines s3rver printed (for failure messages). */
  output(): string;
  /** Stops the process and deletes the data directory. */
  dispose(): Promise<void>;
}

const require = createRequire(import.meta.url);
const S3RVER_BIN = require.resolve('s3rver/bin/s3rver.js');
const OUTPUT_LINES = 200;

export async function startS3rver(options: S3rverOptions = {}): Promise<S3rverInstance> {
  const bucket = options.bucket ?? 'sti-cr';
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const directory = await mkdtemp(join(tmpdir(), 'clm-s3rver-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  let child: ChildProcess | undefined;
  let frozen = false;

  const record = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
    lines.splice(0, Math.max(0, lines.length - OUTPUT_LINES));
  };
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function start(): Promise<void> {
    if (child) throw new Error('s3rver is already running');
    const proc = spawn(
      process.execPath,
      [S3RVER_BIN, '--directory', directory, '--address', '127.0.0.1', '--port', String(port), '--configure-bucket', bucket],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout.on('data', record);
    proc.stderr.on('data', record);
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code, signal) => reject(new Error(`s3rver exited during start (${code ?? signal}):\n${lines.join('\n')}`))),
    );
    exited.catch(() => undefined);
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const ready = await Promise.race([bucketAnswers(endpoint, bucket), exited]);
      if (ready) return;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`s3rver did not answer on ${endpoint} within ${startTimeoutMs} ms:\n${lines.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    if (frozen) proc.kill('SIGCONT');
    frozen = false;
    proc.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    endpoint,
    port,
    bucket,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    objectUrl: (objectKey) => `${endpoint}/${bucket}/${objectKey}`,
    stop,
    start,
    freeze() {
      if (!child) throw new Error('s3rver is not running');
      child.kill('SIGSTOP');
      frozen = true;
    },
    thaw() {
      if (!child) throw new Error('s3rver is not running');
      child.kill('SIGCONT');
      frozen = false;
    },
    output: () => lines.join('\n'),
    async dispose() {
      await stop();
      process.removeListener('exit', killOnExit);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * True once the bucket answers an anonymous HEAD; false while nothing listens yet. (Not a listing
 * with max-keys: s3rver makes continuation tokens with DES, which OpenSSL 3 refuses, so any
 * truncated listing answers 500.)
 */
async function bucketAnswers(endpoint: string, bucket: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/${bucket}`, { method: 'HEAD', signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}
