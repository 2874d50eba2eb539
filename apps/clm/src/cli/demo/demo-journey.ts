import { randomBytes, randomInt } from 'node:crypto';
import { SANDBOX_DEMO_USER, SANDBOX_STI_CA_NAME, SANDBOX_STI_PA_PATH } from '../../boot/sandbox-demo.js';
import { ApiError, callApi, type ApiTarget } from '../api-client.js';
import type { CertificateSummary } from '../commands/certs.command.js';
import { addProvider, type ProviderSummary } from '../commands/providers.command.js';
import { fetchReadiness, formatReadiness } from '../commands/readiness.command.js';

/** The demo's providers carry this legal name, so a later run recognises (and reuses) them. */
export const DEMO_LEGAL_NAME = 'Demo Telecom LLC';
const STEPS = 8;
const POLL_MS = 250;

/** A journey step that cannot go on; the message says what to do. */
export class DemoError extends Error {
  override readonly name = 'DemoError';
}

export interface DemoOptions {
  readonly target: ApiTarget;
  /** How long to wait for the certificate to become active. */
  readonly timeoutMs: number;
  readonly write: (text: string) => void;
}

export interface DemoResult {
  readonly providerId: string;
  readonly ocn: string;
  readonly certificateId: string;
  readonly x5u: string;
  readonly signerId: string;
  /** From the provider step to the certificate active. */
  readonly onboardToActiveMs: number;
  readonly ready: boolean;
}

interface StiCaSummary { id: string; name: string; directoryUrl: string }
interface SignerSummary { id: string; name: string; ocns: string[]; disabledAt: string | null }

/**
 * `clm demo`: the whole onboarding journey against a running embedded instance and its sandbox,
 * through the admin API only (what an operator would do by hand), each step printed with its
 * duration: provider → OCN → STI-PA user → certificate ordered and active → x5u → signer →
 * readiness. A re-run reuses the demo provider of an earlier run (an OCN belongs to one provider).
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { target, write } = options;
  let n = 0;
  const step = async <T>(work: () => Promise<{ value: T; line: string }>): Promise<T> => {
    const started = performance.now();
    const { value, line } = await work();
    write(`[${++n}/${STEPS}] ${line} (${formatMs(performance.now() - started)})\n`);
    return value;
  };
  write(`clm demo: onboarding a provider against the embedded sandbox at ${target.server}\n`);

  await step(async () => ({ value: await serviceUp(target), line: `service answers at ${target.server}` }));
  const stiCa = await step(async () => {
    const ca = await sandboxStiCa(target);
    return { value: ca, line: `sandbox STI-CA "${ca.name}" (${ca.id}) at ${ca.directoryUrl}` };
  });
  const onboardStarted = performance.now();
  const { provider, ocn } = await step(async () => {
    const chosen = await demoProvider(target);
    return { value: chosen, line: chosen.note };
  });
  const stiPaBaseUrl = new URL(stiCa.directoryUrl).origin + SANDBOX_STI_PA_PATH;
  await step(async () => {
    await callApi(target, 'PUT', `/api/v1/providers/${provider.id}/sti-pa-account`, {
      environment: 'sandbox', baseUrl: stiPaBaseUrl, userId: SANDBOX_DEMO_USER.userId, password: SANDBOX_DEMO_USER.password,
    });
    const login = (await fetchReadiness(target, provider.id)).provider.stiPaAccount;
    if (login.status !== 'ok') {
      throw new DemoError(`the sandbox STI-PA at ${stiPaBaseUrl} does not accept the demo user: ${login.reason}. Is the embedded sandbox running (CLM_SANDBOX=embedded, the default without DATABASE_URL)?`);
    }
    return { value: undefined, line: `STI-PA API user "${SANDBOX_DEMO_USER.userId}" set (password sealed) and logs in at ${stiPaBaseUrl}` };
  });
  const requested = await step(async () => {
    const id = await requestCertificate(target, { providerId: provider.id, ocn, stiCaId: stiCa.id });
    return { value: id, line: `certificate ${id.id} requested for OCN ${ocn}${id.resumed ? ' (an earlier order was still running: following it)' : ''}` };
  });
  const active = await step(async () => {
    const certificate = await untilActive(target, requested.id, options.timeoutMs, write);
    return { value: certificate, line: `certificate active: serial ${certificate.serial}, valid until ${certificate.notAfter}, published at x5u ${certificate.x5u}` };
  });
  const onboardToActiveMs = performance.now() - onboardStarted;
  const signer = await step(async () => {
    const s = await demoSigner(target, ocn);
    return { value: s.signer, line: s.created ? `signer "${s.signer.name}" (${s.signer.id}) may pull OCN ${ocn}; get its credential with: clm signer rotate ${s.signer.id}` : `signer "${s.signer.name}" (${s.signer.id}) already pulls OCN ${ocn}: reusing it` };
  });
  const readiness = await step(async () => {
    const view = await fetchReadiness(target, provider.id);
    return { value: view, line: `readiness of provider ${provider.id}: ${view.ready ? 'every item ok' : 'NOT ready'}` };
  });
  write(`\n${formatReadiness(readiness)}`);
  write(`\nonboarding → certificate active in ${formatMs(onboardToActiveMs)}. Next: clm certs list --ocn ${ocn}; clm readiness ${provider.id}\n`);
  return { providerId: provider.id, ocn, certificateId: active.id, x5u: active.x5u ?? '', signerId: signer.id, onboardToActiveMs, ready: readiness.ready };
}

async function serviceUp(target: ApiTarget): Promise<void> {
  try {
    const res = await fetch(`${target.server}/healthz`, { signal: AbortSignal.timeout(5_000) });
    if (res.ok) return;
    throw new Error(`HTTP ${res.status}`);
  } catch (error) {
    throw new DemoError(`no shaken-clm service answers at ${target.server} (${error instanceof Error ? error.message : String(error)}): start it with \`npm start\` or pass --server / CLM_SERVER`);
  }
}

async function sandboxStiCa(target: ApiTarget): Promise<StiCaSummary> {
  const cas = await callApi<StiCaSummary[]>(target, 'GET', '/api/v1/sti-cas');
  const ca = cas.find((c) => c.name === SANDBOX_STI_CA_NAME);
  if (!ca) {
    throw new DemoError(`no "${SANDBOX_STI_CA_NAME}" is registered, so the embedded sandbox is off: start the service with CLM_SANDBOX=embedded (the default without DATABASE_URL)`);
  }
  return ca;
}

/**
 * The sandbox's demo STI-PA user holds 818H and 709J. The first of them that is free gets a new
 * demo provider; one that an earlier demo run onboarded is reused with its provider; one that a
 * real provider holds is skipped (an OCN belongs to one provider).
 */
async function demoProvider(target: ApiTarget): Promise<{ provider: ProviderSummary; ocn: string; note: string }> {
  const providers = await callApi<ProviderSummary[]>(target, 'GET', '/api/v1/providers');
  const skipped: string[] = [];
  for (const ocn of SANDBOX_DEMO_USER.ocns) {
    const owner = providers.find((p) => p.ocns.includes(ocn));
    const after = skipped.length ? ` (${skipped.join('; ')})` : '';
    if (!owner) {
      const provider = await newDemoProvider(target, ocn);
      return { provider, ocn, note: `provider "${provider.legalName}" ${provider.id}: FRN ${provider.frn}, 499-A ${provider.filer499Id}, ${provider.rmdNumber}, OCN ${ocn}${after}` };
    }
    if (owner.legalName === DEMO_LEGAL_NAME) {
      return { provider: owner, ocn, note: `OCN ${ocn} belongs to the demo provider ${owner.id} of an earlier run: reusing it${after}` };
    }
    skipped.push(`${ocn} belongs to "${owner.legalName}" ${owner.id}`);
  }
  throw new DemoError(`both OCNs of the sandbox demo STI-PA user belong to other providers (${skipped.join('; ')}); the demo needs one of them`);
}

async function newDemoProvider(target: ApiTarget, ocn: string): Promise<ProviderSummary> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await addProvider(target, {
        legalName: DEMO_LEGAL_NAME,
        frn: digits(10),
        filer499Id: digits(6),
        rmdNumber: `RMD${digits(7)}`,
        contactEmail: 'stir-shaken@demo.example',
      }, [ocn]);
    } catch (error) {
      // A random FRN that another provider has: draw again.
      if (!(error instanceof ApiError && error.code === 'PROVIDER.FRN_TAKEN') || attempt >= 5) throw error;
    }
  }
}

async function requestCertificate(target: ApiTarget, body: { providerId: string; ocn: string; stiCaId: string }): Promise<{ id: string; resumed: boolean }> {
  try {
    return { id: (await callApi<CertificateSummary>(target, 'POST', '/api/v1/certificates', body)).id, resumed: false };
  } catch (error) {
    // An interrupted earlier run left its order running: follow that one instead of failing.
    const inFlight = error instanceof ApiError && error.code === 'CERTIFICATE.ORDER_IN_FLIGHT' ? /certificate ([0-9a-f-]{36})/.exec(error.message)?.[1] : undefined;
    if (!inFlight) throw error;
    return { id: inFlight, resumed: true };
  }
}

/** Polls the certificate, printing each state it passes through, until active (or failed / timed out). */
async function untilActive(target: ApiTarget, id: string, timeoutMs: number, write: (text: string) => void): Promise<CertificateSummary> {
  const started = performance.now();
  let seen = '';
  for (;;) {
    const c = await callApi<CertificateSummary>(target, 'GET', `/api/v1/certificates/${id}`);
    const now = `${c.state}/${c.order?.state ?? '-'}${c.order?.lastErrorCode ? ` (${c.order.lastErrorCode}, attempt ${c.order.attempts})` : ''}`;
    if (now !== seen) write(`        +${formatMs(performance.now() - started).padStart(7)}  certificate ${now}\n`);
    seen = now;
    if (c.state === 'active') return c;
    if (c.state === 'failed' || c.order?.state === 'failed') {
      throw new DemoError(`the order failed: ${c.order?.lastErrorCode}: ${c.order?.lastError ?? ''} (clm certs show ${id})`);
    }
    if (performance.now() - started > timeoutMs) {
      throw new DemoError(`certificate ${id} is not active after ${timeoutMs / 1000} s (now ${now}${c.order?.lastError ? `: ${c.order.lastError}` : ''}); follow it with: clm certs show ${id}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** An enabled signer already scoped to the OCN is reused; otherwise one is created (its credential is not printed). */
async function demoSigner(target: ApiTarget, ocn: string): Promise<{ signer: SignerSummary; created: boolean }> {
  const existing = (await callApi<SignerSummary[]>(target, 'GET', '/api/v1/signers')).find((s) => s.disabledAt === null && s.ocns.includes(ocn));
  if (existing) return { signer: existing, created: false };
  const signer = await callApi<SignerSummary>(target, 'POST', '/api/v1/signers', { name: `demo-sbc-${ocn}-${randomBytes(3).toString('hex')}`, ocns: [ocn] });
  return { signer, created: true };
}

function digits(count: number): string {
  return String(randomInt(0, 10 ** count)).padStart(count, '0');
}

function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}
