// The signer pull API (GET /signer/v1/credentials/{ocn}) over real HTTP at 64 concurrent
// connections, 200s (key hand-outs, each audited) and 304s (If-None-Match), next to a static file
// server answering the same bytes from memory (the practical ceiling for Node HTTP on this machine).
// Run after `npm run build`:  node --import ./scripts/register-aliases.mjs dist/bench/signer-pull.js
//
// Three processes: this load generator, a real `clm` service (the compiled entry point, its own
// fresh database on the PostgreSQL at BENCH_DATABASE_URL / DATABASE_URL, default
// postgresql://postgres@127.0.0.1:5432/postgres, dropped afterwards), and the static server.
// The service is seeded as an operator would: provider, OCN 818H and the embedded sandbox's demo
// STI-PA user over the admin API, a certificate procured from the embedded sandbox STI-CA (checked
// against its STI-PA CA list and CRL, published to the service's own STI-CR over HTTPS and
// activated by its worker), and a signer over the API. (An import from an in-bench CA is refused:
// imported chains must reach a root on the STI-PA CA list, STIR-SHAKEN.md §4.)
// BENCH_SECONDS (default 5) per case after a 1 s warm-up; BENCH_CONNECTIONS (default 64).
import 'reflect-metadata';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Pool } from 'undici';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Figure {
  name: string;
  status: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  wrongStatus: number;
  /** Answers with the expected status over the whole run, warm-up and tail included. */
  answered: number;
}

/** A child process we started, with what it printed. */
interface Child {
  readonly process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function startChild(args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitHealthy(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`exited with ${child.process.exitCode} before it was healthy:\n${child.output().slice(-4000)}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms:\n${child.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/**
 * The ceiling: node:http answering every GET with the same bytes from memory, the same headers
 * a pull answer carries, and 304 on a matching If-None-Match. Its own process, like the service.
 */
const STATIC_SERVER = `
const http = require('node:http');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const { body, etag } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const bytes = Buffer.from(body, 'utf8');
  const server = http.createServer((req, res) => {
    if (req.headers['if-none-match'] === etag) { res.writeHead(304, { etag, 'cache-control': 'no-store' }); return res.end(); }
    res.writeHead(200, { etag, 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length });
    res.end(bytes);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
});
`;

async function startStaticServer(body: string, etag: string): Promise<{ url: string; child: Child }> {
  const child = spawn(process.execPath, ['-e', STATIC_SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify({ body, etag }));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve((JSON.parse(out) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`static server exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    child: {
      process: child,
      output: () => '',
      stop: async () => {
        child.kill('SIGTERM');
        await exited;
      },
    },
  };
}

/**
 * CONNECTIONS requests in flight at all times (one per keep-alive connection, no pipelining),
 * each timed from send to the end of its body.
 */
async function drive(name: string, origin: string, path: string, headers: Record<string, string>, expected: number): Promise<Figure> {
  const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let wrongStatus = 0;
  let answered = 0;
  let recording = false;
  let running = true;
  const loop = async () => {
    while (running) {
      const started = performance.now();
      const res = await pool.request({ method: 'GET', path, headers });
      await res.body.dump();
      if (res.statusCode === expected) answered += 1;
      if (!recording) continue;
      if (res.statusCode !== expected) wrongStatus += 1;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = performance.now() - started;
    }
  };
  const loops = Array.from({ length: CONNECTIONS }, loop);
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // warm-up: connections open, JIT warm
  recording = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
  recording = false;
  const elapsed = (performance.now() - start) / 1000;
  const requests = count;
  running = false;
  await Promise.all(loops);
  await pool.close();
  const sorted = latencies.slice(0, requests).sort();
  const at = (q: number) => sorted[Math.min(requests - 1, Math.floor(q * requests))] ?? Number.NaN;
  return { name, status: expected, requests, perSecond: requests / elapsed, p50: at(0.5), p99: at(0.99), wrongStatus, answered };
}

async function adminApi<T>(base: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Seeds one provider, OCN, STI-PA user, active certificate and signer; returns the signer credential and OCN. */
async function seed(base: string, token: string, sandboxPort: number): Promise<{ ocn: string; credential: string }> {
  // The embedded sandbox's demo STI-PA user holds 818H (and 709J); the database is the bench's own.
  const ocn = '818H';
  const provider = await adminApi<{ id: string }>(base, token, 'POST', '/api/v1/providers', {
    legalName: 'Bench Telecom LLC',
    frn: String(randomInt(0, 10_000_000_000)).padStart(10, '0'),
    filer499Id: String(randomInt(0, 1_000_000)).padStart(6, '0'),
    rmdNumber: `RMD${String(randomInt(0, 10_000_000)).padStart(7, '0')}`,
    contactEmail: 'noc@example.net',
  });
  await adminApi(base, token, 'POST', `/api/v1/providers/${provider.id}/ocns`, { ocn });
  await adminApi(base, token, 'PUT', `/api/v1/providers/${provider.id}/sti-pa-account`, {
    environment: 'sandbox', baseUrl: `https://127.0.0.1:${sandboxPort}/sti-pa/api/v1`, userId: 'demo', password: 'demo-password',
  });
  const stiCas = await adminApi<{ id: string; name: string }[]>(base, token, 'GET', '/api/v1/sti-cas');
  const stiCa = stiCas.find((ca) => ca.name === 'Sandbox STI-CA');
  if (!stiCa) throw new Error(`the embedded sandbox STI-CA is not registered: ${JSON.stringify(stiCas)}`);
  const requested = await adminApi<{ id: string }>(base, token, 'POST', '/api/v1/certificates', { providerId: provider.id, ocn, stiCaId: stiCa.id });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const view = await adminApi<{ state: string; order?: { lastErrorCode?: string | null } }>(base, token, 'GET', `/api/v1/certificates/${requested.id}`);
    if (view.state === 'active') break;
    if (view.state === 'failed' || Date.now() > deadline) throw new Error(`the procured certificate did not become active: ${JSON.stringify(view)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const signer = await adminApi<{ credential: string }>(base, token, 'POST', '/api/v1/signers', { name: 'bench-sbc', ocns: [ocn] });
  return { ocn, credential: signer.credential };
}

function row(figure: Figure, ceiling?: Figure): string {
  const ratio = ceiling ? `${((figure.perSecond / ceiling.perSecond) * 100).toFixed(0)}% of static` : '';
  return `${figure.name.padEnd(34)} ${String(figure.status).padStart(3)}  ${figure.perSecond.toFixed(0).padStart(8)}/s  p50 ${figure.p50.toFixed(2).padStart(6)} ms  p99 ${figure.p99.toFixed(2).padStart(6)} ms  ${ratio}${figure.wrongStatus ? `  (${figure.wrongStatus} other statuses!)` : ''}`;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function transactionsOf(database: string): Promise<number> {
  // Statistics reach pg_stat_database within about a second of each transaction.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const [stats] = await sql<{ n: string }>(SERVER_URL, 'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1', [database]);
  return Number(stats?.n ?? Number.NaN);
}

async function main(): Promise<void> {
  const database = `clm_bench_${randomBytes(5).toString('hex')}`;
  const databaseUrl = (() => {
    const url = new URL(SERVER_URL);
    url.pathname = `/${database}`;
    return url.toString();
  })();
  const dataDir = mkdtempSync(join(tmpdir(), 'clm-bench-signer-'));
  const token = `clm_admin_bench_${randomBytes(24).toString('hex')}`;
  const port = 20_000 + randomInt(0, 20_000);
  const sandboxPort = port + 1;
  await sql(SERVER_URL, `CREATE DATABASE "${database}"`);
  let clm: Child | undefined;
  let staticServer: { url: string; child: Child } | undefined;
  try {
    // BENCH_CPU_PROF=DIR writes a V8 CPU profile of the service into DIR when it stops.
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    clm = startChild([...profile, '--import', './scripts/register-aliases.mjs', 'dist/apps/clm/src/main.js'], {
      DATABASE_URL: databaseUrl,
      CLM_DATA_DIR: dataDir,
      CLM_PORT: String(port),
      CLM_HOST: '127.0.0.1',
      CLM_SANDBOX: 'embedded',
      CLM_SANDBOX_PORT: String(sandboxPort),
      CLM_ADMIN_TOKEN: token,
      CLM_MASTER_KEY: randomBytes(32).toString('hex'),
      CLM_JOBS_ENABLED: 'true',
      CLM_LOG_LEVEL: 'warn',
      CLM_PROCUREMENT_POLL_INTERVAL_MS: '200',
      CLM_STI_CR_HOST: `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(2, 255)}`,
    });
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(`${base}/healthz`, clm);
    const { ocn, credential } = await seed(base, token, sandboxPort);

    const path = `/signer/v1/credentials/${ocn}`;
    const auth = { authorization: `Bearer ${credential}` };
    const sample = await fetch(base + path, { headers: auth });
    const body = await sample.text();
    const etag = sample.headers.get('etag')!;
    if (sample.status !== 200 || !etag) throw new Error(`the seeded signer could not pull: ${sample.status} ${body.slice(0, 300)}`);
    staticServer = await startStaticServer(body, etag);

    const handOutsBefore = Number((await sql<{ n: string }>(databaseUrl, `SELECT count(*)::text AS n FROM audit_events WHERE action = 'key.hand_out'`))[0]!.n);
    const cases: Figure[] = [];
    // The service's own background work (job polls, listener heartbeat) for as long as a run, idle...
    const idleStart = await transactionsOf(database);
    await new Promise((resolve) => setTimeout(resolve, (SECONDS + 1) * 1_000));
    const transactionsIdle = (await transactionsOf(database)) - idleStart;
    // ...and during the 304 run: the same, since a 304 reads no database.
    const transactionsBefore304 = await transactionsOf(database);
    cases.push(await drive('clm pull, If-None-Match', base, path, { ...auth, 'if-none-match': etag }, 304));
    const transactionsDuring304 = (await transactionsOf(database)) - transactionsBefore304;
    cases.push(await drive('static server, If-None-Match', staticServer.url, path, { 'if-none-match': etag }, 304));
    cases.push(await drive('clm pull, key hand-out (audited)', base, path, auth, 200));
    cases.push(await drive('static server, same bytes', staticServer.url, path, {}, 200));
    const handOuts = Number((await sql<{ n: string }>(databaseUrl, `SELECT count(*)::text AS n FROM audit_events WHERE action = 'key.hand_out'`))[0]!.n) - handOutsBefore;
    const answered200 = cases[2]!.answered;

    const [clm304, static304, clm200, static200] = cases as [Figure, Figure, Figure, Figure];
    console.log(`signer pull over HTTP — ${CONNECTIONS} connections, ${SECONDS} s per case, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`body ${Buffer.byteLength(body)} bytes (SEC1 key, 2-certificate chain); service, static server and this load generator share the machine`);
    console.log(row(clm304, static304));
    console.log(row(static304));
    console.log(row(clm200, static200));
    console.log(row(static200));
    console.log(`aim: 304s >= 10000/s (${clm304.perSecond >= 10_000 ? 'met' : 'NOT met'}), 200s >= 5000/s (${clm200.perSecond >= 5_000 ? 'met' : 'NOT met'}), p99 < 10 ms (${clm304.p99 < 10 && clm200.p99 < 10 ? 'met' : 'NOT met'})`);
    console.log(`database transactions in the service's database: ${transactionsDuring304} during the 304 run (${clm304.answered} answers), ${transactionsIdle} in as long idle (job polls, listener heartbeat)`);
    console.log(`key.hand_out audit rows written during the 200 run: ${handOuts} for ${answered200} 200s answered (warm-up included)${handOuts === answered200 ? ': one each' : ' — MISMATCH'}`);
  } finally {
    await staticServer?.child.stop();
    await clm?.stop();
    await sql(SERVER_URL, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
