import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Keystore, loadKek } from '@app/keystore';
import {
  createPassport,
  fetchStiCr,
  type FetchedStiCr,
  type LintFinding,
  lintStiCrResponse,
  parseCertificate,
  parseCertificateChain,
  verifyPassport,
} from '@app/shaken';
import type { Agent } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { privateKeyAad } from '../../apps/clm/src/common/sealed-secrets.js';
import type { ClmProcess } from './clm-process.js';
import { freshOcn, sandboxStiPaUser } from './factories.js';
import type { SandboxProcess } from './sandbox.js';

const run = promisify(execFile);

/** Known to the test so it can open the keys the service sealed (as an operator with the KEK could). */
export const E2E_MASTER_KEY = randomBytes(32).toString('hex');
export const E2E_ADMIN_TOKEN = `clm_admin_publishing_${randomBytes(24).toString('hex')}`;

/** A service process that procures from `sandbox`: its roots pinned and trusted, jobs on, fast polling. */
export function serviceEnv(options: { databaseUrl: string; dataDir: string; sandbox: SandboxProcess; tlsCaFiles?: readonly string[]; extra?: Record<string, string> }): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    CLM_DATA_DIR: options.dataDir,
    CLM_SANDBOX: 'off',
    CLM_ADMIN_TOKEN: E2E_ADMIN_TOKEN,
    CLM_MASTER_KEY: E2E_MASTER_KEY,
    CLM_JOBS_ENABLED: 'true',
    CLM_STI_PA_ROOTS_FILE: `${options.sandbox.paths.stiPaRoot},${options.sandbox.paths.stiPaCrlSigner}`,
    CLM_TLS_CA_FILE: [options.sandbox.paths.tlsRoot, ...(options.tlsCaFiles ?? [])].join(','),
    CLM_PROCUREMENT_POLL_INTERVAL_MS: '200',
    ...options.extra,
  };
}

export async function api<T = Record<string, unknown>>(clm: ClmProcess, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(clm.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${E2E_ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

export async function ok<T = Record<string, unknown>>(clm: ClmProcess, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
  const { status, json } = await api<T>(clm, method, path, body);
  if (status >= 300) throw new Error(`${method} ${path} answered ${status}: ${JSON.stringify(json)}`);
  return json;
}

/** A provider with one fresh OCN, its sandbox STI-PA user and the sandbox STI-CA, all over the admin API. */
export async function onboardOverApi(clm: ClmProcess, sandbox: SandboxProcess): Promise<{ providerId: string; ocn: string; stiCaId: string }> {
  const ocn = freshOcn();
  const provider = await ok<{ id: string }>(clm, 'POST', '/api/v1/providers', {
    legalName: 'Publishing Telecom LLC',
    frn: String(randomInt(0, 10_000_000_000)).padStart(10, '0'),
    filer499Id: String(randomInt(0, 1_000_000)).padStart(6, '0'),
    rmdNumber: `RMD${String(randomInt(0, 10_000_000)).padStart(7, '0')}`,
    contactEmail: 'noc@example.net',
  });
  await ok(clm, 'POST', `/api/v1/providers/${provider.id}/ocns`, { ocn });
  await ok(clm, 'PUT', `/api/v1/providers/${provider.id}/sti-pa-account`, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...(await sandboxStiPaUser(sandbox, [ocn])) });
  const ca = await ok<{ id: string }>(clm, 'POST', '/api/v1/sti-cas', { name: `Sandbox ${ocn}`, directoryUrl: sandbox.acmeDirectory });
  return { providerId: provider.id, ocn, stiCaId: ca.id };
}

/** Polls GET /certificates/{id} until `done` holds. */
export async function waitForCertificate(clm: ClmProcess, id: string, done: (view: CertificateView) => boolean, timeoutMs = 60_000): Promise<CertificateView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await ok<CertificateView>(clm, 'GET', `/api/v1/certificates/${id}`);
    if (done(view)) return view;
    if (Date.now() > deadline) throw new Error(`certificate ${id} did not get there within ${timeoutMs} ms: ${JSON.stringify(view, null, 2)}\n${clm.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface VerifierView {
  readonly fetched: FetchedStiCr;
  readonly findings: LintFinding[];
  readonly chainPem: string;
}

/** GET the x5u as a verifier does (no redirects, TLS verified with `dispatcher`) and lint it. */
export async function fetchAsVerifier(x5u: string, dispatcher: Agent): Promise<VerifierView> {
  const fetched = await fetchStiCr(x5u, { dispatcher });
  return { fetched, findings: lintStiCrResponse(fetched), chainPem: Buffer.from(fetched.body).toString('utf8') };
}

/** `openssl verify` (the real binary) of the served chain against `rootPem`; returns its stdout. */
export async function opensslVerify(chainPem: string, rootPem: string): Promise<{ stdout: string; leafFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'clm-openssl-'));
  try {
    const certificates = parseCertificateChain(chainPem).map((c) => c.toString('pem'));
    const leafFile = join(dir, 'leaf.pem');
    writeFileSync(leafFile, `${certificates[0]}\n`);
    writeFileSync(join(dir, 'untrusted.pem'), `${certificates.slice(1).join('\n')}\n`);
    writeFileSync(join(dir, 'root.pem'), rootPem);
    const { stdout } = await run('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'untrusted.pem'), leafFile]);
    return { stdout: stdout.trim(), leafFile };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Signs a PASSporT with the certificate's key as the service holds it (sealed in the database,
 * opened with the KEK the test gave the service) and verifies it as an STI-VS would: chain from
 * the x5u, path to `rootPem`. Returns the SPC the verifier found.
 */
export async function passportRoundTrip(options: { databaseUrl: string; certificateId: string; x5u: string; rootPem: string; dispatcher: Agent }): Promise<string> {
  const sql = new pg.Client({ connectionString: options.databaseUrl });
  await sql.connect();
  let row: { id: string; sealed: Buffer };
  try {
    row = (await sql.query<{ id: string; sealed: Buffer }>(
      'SELECT k.id::text AS id, k.sealed FROM certificates c JOIN private_keys k ON k.id = c.key_id WHERE c.id = $1::uuid',
      [options.certificateId],
    )).rows[0]!;
  } finally {
    await sql.end();
  }
  const keystore = new Keystore(await loadKek({ masterKey: E2E_MASTER_KEY, keyFile: '/nonexistent', previous: [] }));
  const pkcs8 = keystore.openPrivateKeyDer(row.sealed, privateKeyAad(row.id));
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  pkcs8.fill(0);
  const passport = await createPassport({ attest: 'A', orig: '12025550101', dest: ['12025550199'], x5u: options.x5u }, key);
  const verified = await verifyPassport(passport, {
    fetchChain: async (x5u) => (await fetchStiCr(x5u, { dispatcher: options.dispatcher })).body,
    trustAnchors: [parseCertificate(options.rootPem)],
    now: new Date(),
  });
  return verified.spc;
}
