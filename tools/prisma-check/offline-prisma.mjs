// Shared plumbing for scripts/new-migration.js and scripts/check-migrations.js: installs this
// folder's Prisma 6 CLI on demand, creates a throwaway database, and runs `prisma migrate diff`
// against it. The root package keeps Prisma 7, whose CLI cannot migrate offline (TOOLCHAIN.md).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const toolDir = fileURLToPath(new URL('.', import.meta.url));
export const rootDir = join(toolDir, '..', '..');
export const schemaPath = join(rootDir, 'prisma', 'schema.prisma');
export const migrationsDir = join(rootDir, 'prisma', 'migrations');
const prismaBin = join(toolDir, 'node_modules', '.bin', 'prisma');

export const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export function ensureInstalled() {
  if (existsSync(prismaBin)) return;
  console.error('tools/prisma-check: installing the Prisma 6 CLI (npm ci --prefix tools/prisma-check)...');
  const result = spawnSync('npm', ['ci', '--prefix', toolDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0 || !existsSync(prismaBin)) {
    throw new Error('could not install tools/prisma-check (npm ci failed)');
  }
}

/** Connection string for database `name` on the server of `serverUrl`. */
function withDatabase(serverUrl, name) {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Runs `fn(databaseUrl)` with a freshly created database on the server given by DATABASE_URL (or
 * the local default) and drops it afterwards. The Prisma CLI only ever sees this database and the
 * shadow databases it creates beside it, never the one the service uses. With no DATABASE_URL and
 * nothing listening at the default, a temporary embedded PostgreSQL serves instead.
 */
export async function withThrowawayDatabase(fn) {
  // Imported here: before ensureInstalled() this folder may have no node_modules.
  const { default: pg } = await import('pg');
  const explicit = process.env.DATABASE_URL;
  let serverUrl = explicit || DEFAULT_SERVER_URL;
  let embedded;
  let admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch (error) {
    if (explicit || error.code !== 'ECONNREFUSED') {
      throw new Error(`cannot reach PostgreSQL at ${redact(serverUrl)} (${error.message}); set DATABASE_URL to a server where a throwaway database may be created`);
    }
    embedded = await startTemporaryServer();
    serverUrl = embedded.url;
    admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
  }
  const name = `clm_migrate_tool_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    return await fn(withDatabase(serverUrl, name));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await embedded?.stop();
  }
}

/** The service's own embedded PostgreSQL (from the build in dist/), in a temporary directory. */
async function startTemporaryServer() {
  const built = join(rootDir, 'dist', 'libs', 'db', 'src', 'embedded-postgres.js');
  if (!existsSync(built)) {
    throw new Error(`no PostgreSQL at ${DEFAULT_SERVER_URL} and no build to start an embedded one (run npm run build, or set DATABASE_URL)`);
  }
  const { startEmbeddedPostgres } = await import(pathToFileURL(built).href);
  const dataDir = mkdtempSync(join(tmpdir(), 'clm-prisma-check-pg-'));
  console.error(`no PostgreSQL at ${DEFAULT_SERVER_URL}: using a temporary embedded one`);
  const server = await startEmbeddedPostgres({ dataDir, database: 'postgres' });
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The Prisma 6 CLI needs `url = env("DATABASE_URL")` in the datasource block, which the Prisma 7
 * schema must not have; it reads a copy with the line added.
 */
function prepareSchema(dir, original = schemaPath) {
  const source = readFileSync(original, 'utf8');
  const datasource = /datasource\s+\w+\s*\{[^}]*\}/;
  const block = datasource.exec(source);
  if (!block) throw new Error('prisma/schema.prisma has no datasource block');
  if (/\burl\s*=/.test(block[0])) throw new Error('prisma/schema.prisma: the datasource must not set url (Prisma 7)');
  const patched = source.replace(datasource, block[0].replace(/\}$/, '  url = env("DATABASE_URL")\n}'));
  const path = join(dir, 'schema.prisma');
  writeFileSync(path, patched);
  return path;
}

/** True when prisma/migrations holds at least one migration. */
function hasMigrations() {
  if (!existsSync(migrationsDir)) return false;
  return readdirSync(migrationsDir).some((name) => existsSync(join(migrationsDir, name, 'migration.sql')));
}

/**
 * Runs the Prisma 6 CLI with `args` against `databaseUrl` (a throwaway database), reading a copy
 * of prisma/schema.prisma (or `options.schemaFile`) and the real prisma/migrations; `<schema>` in
 * `args` stands for the copy. Returns { status, stdout, stderr }.
 */
export function runPrisma(args, databaseUrl, options = {}) {
  const work = mkdtempSync(join(tmpdir(), 'clm-prisma-check-'));
  try {
    const schemaCopy = prepareSchema(work, options.schemaFile);
    const result = spawnSync(prismaBin, args.map((arg) => (arg === '<schema>' ? schemaCopy : arg)), {
      cwd: toolDir,
      encoding: 'utf8',
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PRISMA_CHECK_DATABASE_URL: databaseUrl,
        PRISMA_CHECK_SCHEMA: schemaCopy,
        PRISMA_CHECK_MIGRATIONS: migrationsDir,
        // Without a readable engine type the CLI fetches a query engine it does not need.
        PRISMA_CLIENT_ENGINE_TYPE: 'client',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
        CHECKPOINT_DISABLE: '1',
      },
      timeout: 300_000,
    });
    if (result.error) throw result.error;
    const strip = (text) => text.replace(/^Loaded Prisma config.*\n/m, '').trim();
    return { status: result.status, stdout: strip(result.stdout), stderr: strip(result.stderr) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * SQL that turns the database described by prisma/migrations into the one described by
 * prisma/schema.prisma (or `options.schemaFile`). Returns { sql, differs }.
 */
export function diffMigrationsToSchema(databaseUrl, options = {}) {
  const from = hasMigrations() ? ['--from-migrations', migrationsDir] : ['--from-empty'];
  const result = runPrisma(['migrate', 'diff', ...from, '--to-schema-datamodel', '<schema>', '--script', '--exit-code'], databaseUrl, options);
  // --exit-code: 0 = no difference, 2 = difference, anything else = failure.
  if (result.status === 0 || result.status === 2) return { sql: result.stdout, differs: result.status === 2 };
  throw new Error(`prisma migrate diff failed (exit ${result.status}):\n${result.stderr || result.stdout}`);
}

function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}
