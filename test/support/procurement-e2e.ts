import { randomBytes, randomInt } from 'node:crypto';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { startClm as startClmProcess, type ClmProcess } from './clm-process.js';
import { freshOcn, sandboxStiPaUser } from './factories.js';
import type { SandboxProcess } from './sandbox.js';

/** Admin token every test process registers (CLM_ADMIN_TOKEN), so restarts keep working. */
export const E2E_ADMIN_TOKEN = `clm_admin_e2e_${randomBytes(24).toString('hex')}`;

/**
 * The environment of a service process that procures from `sandbox`: its TLS root and its
 * STI-PA root plus CRL signer pinned, jobs on, short leases and a fast poll so that a killed
 * worker's orders are taken over within seconds.
 */
export function procurementEnv(options: { databaseUrl: string; dataDir: string; sandbox: SandboxProcess; extra?: Record<string, string> }): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    CLM_DATA_DIR: options.dataDir,
    CLM_SANDBOX: 'off',
    CLM_ADMIN_TOKEN: E2E_ADMIN_TOKEN,
    CLM_JOBS_ENABLED: 'true',
    CLM_STI_PA_ROOTS_FILE: `${options.sandbox.paths.stiPaRoot},${options.sandbox.paths.stiPaCrlSigner}`,
    CLM_TLS_CA_FILE: options.sandbox.paths.tlsRoot,
    CLM_PROCUREMENT_LEASE_MS: '2000',
    CLM_PROCUREMENT_POLL_INTERVAL_MS: '200',
    ...options.extra,
  };
}

export interface ApiAnswer<T> {
  status: number;
  json: T;
}

export async function api<T = Record<string, unknown>>(clm: ClmProcess, method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown): Promise<ApiAnswer<T>> {
  const res = await fetch(clm.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${E2E_ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

async function ok<T>(answer: Promise<ApiAnswer<T>>, what: string): Promise<T> {
  const { status, json } = await answer;
  if (status >= 300) throw new Error(`${what} answered ${status}: ${JSON.stringify(json)}`);
  return json;
}

/** An STI-CA row for the sandbox, through the admin API. */
export async function registerStiCaOverApi(clm: ClmProcess, sandbox: SandboxProcess): Promise<string> {
  const ca = await ok(api<{ id: string }>(clm, 'POST', '/api/v1/sti-cas', { name: `Sandbox ${randomBytes(3).toString('hex')}`, directoryUrl: sandbox.acmeDirectory }), 'POST sti-cas');
  return ca.id;
}

/** A provider with `count` fresh OCNs and a sandbox STI-PA user holding them, through the admin API. */
export async function onboardOverApi(clm: ClmProcess, sandbox: SandboxProcess, count = 1): Promise<{ providerId: string; ocns: string[] }> {
  const ocns = Array.from({ length: count }, () => freshOcn());
  const provider = await ok(api<{ id: string }>(clm, 'POST', '/api/v1/providers', {
    legalName: 'Example Telecom LLC',
    frn: String(randomInt(0, 10_000_000_000)).padStart(10, '0'),
    filer499Id: String(randomInt(0, 1_000_000)).padStart(6, '0'),
    rmdNumber: `RMD${String(randomInt(0, 10_000_000)).padStart(7, '0')}`,
    contactEmail: 'stir-shaken@example.net',
  }), 'POST providers');
  for (const ocn of ocns) await ok(api(clm, 'POST', `/api/v1/providers/${provider.id}/ocns`, { ocn }), 'POST ocns');
  const user = await sandboxStiPaUser(sandbox, ocns);
  await ok(api(clm, 'PUT', `/api/v1/providers/${provider.id}/sti-pa-account`, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...user }), 'PUT sti-pa-account');
  return { providerId: provider.id, ocns };
}

export async function requestOverApi(clm: ClmProcess, body: { providerId: string; ocn: string; stiCaId: string }): Promise<string> {
  return (await ok(api<{ id: string }>(clm, 'POST', '/api/v1/certificates', body), 'POST certificates')).id;
}

/** Polls GET /certificates/{id} until `done` holds (or fails with the last view, or at once when a step failed). */
export async function waitForCertificate(
  clm: ClmProcess,
  id: string,
  done: (view: CertificateView) => boolean,
  timeoutMs = 60_000,
): Promise<CertificateView> {
  const deadline = Date.now() + timeoutMs;
  let last: CertificateView | undefined;
  for (;;) {
    last = (await api<CertificateView>(clm, 'GET', `/api/v1/certificates/${id}`)).json;
    if (done(last)) return last;
    if (last.order?.lastErrorCode) throw new Error(`certificate ${id}: a step failed: ${JSON.stringify(last.order)}`);
    if (Date.now() > deadline) throw new Error(`certificate ${id} did not get there in ${timeoutMs} ms; last seen: ${JSON.stringify(last, null, 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until the process printed a line matching `pattern`. */
export async function waitForOutput(clm: ClmProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(clm.output())) {
    if (clm.child.exitCode !== null) throw new Error(`clm exited with ${clm.child.exitCode} before printing ${pattern}:\n${clm.output()}`);
    if (Date.now() > deadline) throw new Error(`clm did not print ${pattern} within ${timeoutMs} ms:\n${clm.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kills the process with SIGKILL (no shutdown hooks, no lease release) and waits for it to go. */
export async function killHard(clm: ClmProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => (clm.child.exitCode !== null || clm.child.signalCode !== null ? resolve() : clm.child.once('exit', () => resolve())));
  clm.child.kill('SIGKILL');
  await exited;
}

/**
 * startClm with the embedded STI-CR listener on a loopback address of its own: verifiers accept
 * x5u only on port 443 or 8443, so several services on one machine differ by address, not port.
 */
export function startClm(env: Record<string, string>): Promise<ClmProcess> {
  return startClmProcess({ CLM_STI_CR_HOST: `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(2, 255)}`, ...env });
}
