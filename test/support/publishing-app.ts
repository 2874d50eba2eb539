import 'reflect-metadata';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaService } from '@app/db';
import { AdminTokenService } from '../../apps/clm/src/auth/admin-token.service.js';
import type { Clock } from '../../apps/clm/src/common/clock.js';
import { createRootLogger } from '../../apps/clm/src/common/logger.js';
import { loadConfig } from '../../apps/clm/src/config/config.js';
import type { StiTrust } from '../../apps/clm/src/config/config.module.js';
import { ProvidersService } from '../../apps/clm/src/onboarding/providers.service.js';
import { StiCasService } from '../../apps/clm/src/onboarding/sti-cas.service.js';
import { OrderWorker } from '../../apps/clm/src/procurement/order-worker.js';
import { type EmbeddedStiCr, startEmbeddedStiCr } from '../../apps/clm/src/publishing/embedded/embedded-sti-cr.js';
import { startInProcessClm, type InProcessClm } from './clm-app.js';
import type { TestDatabase } from './database.js';
import { freshOcn, sandboxStiPaUser, testAdmin } from './factories.js';
import { sandboxTrust } from './procurement-app.js';
import { startSandboxProcess, type SandboxProcess } from './sandbox.js';
import { stiCrLoopbackHost } from './sti-cr-loopback.js';

export interface ApiAnswer<T> {
  readonly status: number;
  readonly json: T;
}

export interface PublishingApp {
  readonly clm: InProcessClm;
  readonly prisma: PrismaService;
  readonly worker: OrderWorker;
  /** The filesystem store's HTTPS listener (started here as boot starts it), when that driver is used. */
  readonly listener?: EmbeddedStiCr;
  /** Every TLS root the service trusts for its x5u checks. */
  readonly tlsCaPem: readonly string[];
  /**
   * The STI-PA (CA list, CRL) and STI-CA imports are checked against: providers from onboard()
   * use its STI-PA, and TestStiCa.fromSandbox(sandbox) or the sandbox's ACME issue what it trusts.
   */
  readonly sandbox: SandboxProcess;
  /** Admin API over real HTTP on loopback, as a compliance user. */
  api<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<ApiAnswer<T>>;
  /**
   * A provider with one fresh OCN and an STI-PA API user at the sandbox holding it (environment
   * `sandbox`), and an STI-CA (never contacted) for renewals, through the onboarding services.
   * `stiPaAccount: false`: a provider without STI-PA API user.
   */
  onboard(options?: { stiPaAccount?: boolean }): Promise<{ providerId: string; ocn: string; stiCaId: string }>;
  close(): Promise<void>;
}

export interface PublishingAppOptions {
  /** CLM_STI_CR_* and other settings; default the filesystem driver in a temp dir with its listener. */
  readonly env?: Record<string, string>;
  readonly trust?: StiTrust;
  readonly clock?: Clock;
  readonly db?: TestDatabase;
  /** Share a sandbox (replicas of one deployment); default a sandbox process of its own, stopped on close. */
  readonly sandbox?: SandboxProcess;
}

/**
 * The real service in-process (startInProcessClm) with the publishing feature as `npm start`
 * runs it: for the filesystem driver, its HTTPS listener on port 8443 of a loopback address of
 * its own, whose local TLS root the service's checks trust (as boot/runtime.ts arranges).
 */
export async function startPublishingApp(options: PublishingAppOptions = {}): Promise<PublishingApp> {
  const scratch = mkdtempSync(join(tmpdir(), 'clm-publishing-'));
  const silent = createRootLogger('silent');
  let env = { ...options.env };
  let listener: EmbeddedStiCr | undefined;
  if ((env.CLM_STI_CR_DRIVER ?? 'filesystem') === 'filesystem') {
    for (let attempt = 0; !listener; attempt++) {
      env = { CLM_STI_CR_DIR: join(scratch, 'sti-cr'), ...options.env, CLM_STI_CR_HOST: stiCrLoopbackHost(`${scratch}:${attempt}`) };
      const settings = loadConfig({ ...env, CLM_DATA_DIR: scratch }).stiCr;
      try {
        listener = await startEmbeddedStiCr(settings, scratch, silent);
      } catch (error) {
        if (attempt > 10 || !/EADDRINUSE/.test(String(error))) throw error;
      }
    }
  }
  const sandbox = options.sandbox ?? (await startOwnSandbox());
  const stiPa = sandboxTrust(sandbox);
  const tlsCaPem = [...(options.trust?.tlsCaPem ?? []), ...stiPa.tlsCaPem, ...(listener?.tlsRootPem ? [listener.tlsRootPem] : [])];
  const clm = await startInProcessClm({
    env,
    trust: { stiPaRootsPem: [...(options.trust?.stiPaRootsPem ?? []), ...stiPa.stiPaRootsPem], tlsCaPem },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.db ? { db: options.db } : {}),
  });
  const token = (await clm.app.get(AdminTokenService).create('publishing test', 'compliance', testAdmin())).token;
  const baseUrl = await clm.app.getUrl();
  return {
    clm,
    prisma: clm.app.get(PrismaService),
    worker: clm.app.get(OrderWorker),
    ...(listener ? { listener } : {}),
    tlsCaPem,
    sandbox,
    api: async <T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> => {
      const res = await fetch(`${baseUrl.replace('[::1]', '127.0.0.1')}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
    },
    onboard: async (onboardOptions = {}) => {
      const actor = testAdmin();
      const providers = clm.app.get(ProvidersService);
      const ocn = freshOcn();
      const provider = await providers.create({
        legalName: 'Example Telecom LLC',
        frn: String(randomInt(0, 10_000_000_000)).padStart(10, '0'),
        contactEmail: 'stir-shaken@example.net',
      }, actor);
      await providers.addOcn(provider.id, { ocn }, actor);
      if (onboardOptions.stiPaAccount !== false) {
        const user = await sandboxStiPaUser(sandbox, [ocn]);
        await providers.putStiPaAccount(provider.id, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, userId: user.userId, password: user.password }, actor);
      }
      const ca = await clm.app.get(StiCasService).create({ name: `Import test CA ${randomBytes(3).toString('hex')}`, directoryUrl: 'https://sti-ca.invalid/acme/directory' }, actor);
      return { providerId: provider.id, ocn, stiCaId: ca.id };
    },
    close: async () => {
      await clm.close();
      await listener?.stop();
      if (!options.sandbox) await sandbox.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * A sandbox whose clock runs a minute behind: it signs its CRL when first asked, and the STI-PA CRL
 * must already be in effect for a service clock a test froze (ManualClock) before that moment.
 */
async function startOwnSandbox(): Promise<SandboxProcess> {
  const sandbox = await startSandboxProcess();
  await sandbox.adminApi('POST', '/clock', { offsetMs: -60_000 });
  return sandbox;
}
