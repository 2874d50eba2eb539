import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, ValidationPipe } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll } from 'vitest';
import { PrismaService } from '@app/db';
import { Keystore, loadKek } from '@app/keystore';
import { AppModule } from '../../apps/clm/src/app.module.js';
import { CertificatesService } from '../../apps/clm/src/certificates/certificates.service.js';
import { Clock } from '../../apps/clm/src/common/clock.js';
import { ProblemFilter } from '../../apps/clm/src/common/problem.filter.js';
import { loadConfig } from '../../apps/clm/src/config/config.js';
import type { RuntimeContext, StiTrust } from '../../apps/clm/src/config/config.module.js';
import { ProvidersService } from '../../apps/clm/src/onboarding/providers.service.js';
import { StiCasService } from '../../apps/clm/src/onboarding/sti-cas.service.js';
import { OrderWorker } from '../../apps/clm/src/procurement/order-worker.js';
import { ProcurementService } from '../../apps/clm/src/procurement/procurement.service.js';
import { CertificatePublisher } from '../../apps/clm/src/publishing/certificate-publisher.js';
import { PublishingModule } from '../../apps/clm/src/publishing/publishing.module.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startSandboxProcess, type SandboxProcess } from './sandbox.js';

/**
 * Real time moved by an offset: the service's view of time can jump hours ahead (to walk
 * through backoff) while still agreeing with the sandbox's clock, which dates certificates
 * and SPC tokens by real time, about everything that happens within those hours.
 */
export class ShiftedClock extends Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  /** Moves to `at` (or at least so far, if real time already passed it). */
  advanceTo(at: Date): void {
    this.offsetMs += Math.max(0, at.getTime() - this.now().getTime());
  }
}

/** Stands in for the STI-CR feature when a test runs the application without any publisher. */
@Module({})
class NoPublishingModule {}

/** What procurement trusts when it talks to this sandbox: its TLS root, its STI-PA root and CRL signer. */
export function sandboxTrust(sandbox: SandboxProcess): StiTrust {
  return {
    stiPaRootsPem: [sandbox.stiPaRootPem, readFileSync(sandbox.paths.stiPaCrlSigner, 'utf8')],
    tlsCaPem: [sandbox.tlsRootPem],
  };
}

export interface ProcurementApp {
  readonly app: NestFastifyApplication;
  readonly prisma: PrismaService;
  readonly procurement: ProcurementService;
  readonly certificates: CertificatesService;
  readonly worker: OrderWorker;
  readonly providers: ProvidersService;
  readonly stiCas: StiCasService;
  close(): Promise<void>;
}

export interface ProcurementAppOptions {
  readonly db: TestDatabase;
  readonly sandbox: SandboxProcess;
  /** Undefined: no publisher in the application (the STI-CR feature missing). */
  readonly publisher?: CertificatePublisher;
  readonly clock?: Clock;
  /** Extra CLM_* settings; jobs are off (tests call worker.drain()) unless set here. */
  readonly env?: Record<string, string>;
  /** Default: sandboxTrust(sandbox), as if the operator had configured the sandbox's roots. */
  readonly trust?: StiTrust;
}

/**
 * The real service's modules (AppModule, the same pipe and problem filter as `npm start`) in the
 * test process, on the given database, talking to a real sandbox process, with the test's
 * publisher and clock. HTTP is served through Fastify's inject (no port needed).
 */
export async function startProcurementApp(options: ProcurementAppOptions): Promise<ProcurementApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clm-proc-'));
  const config = loadConfig({
    CLM_JOBS_ENABLED: 'false',
    CLM_SANDBOX: 'off',
    CLM_LOG_LEVEL: 'silent',
    ...options.env,
    CLM_DATA_DIR: dataDir,
    DATABASE_URL: options.db.url,
  });
  const keystore = new Keystore(await loadKek({ keyFile: join(dataDir, 'master.key') }));
  const runtime: RuntimeContext = {
    config,
    databaseUrl: options.db.url,
    keystore,
    trust: options.trust ?? sandboxTrust(options.sandbox),
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const builder = Test.createTestingModule({ imports: [AppModule.forRoot(runtime)] });
  // The test's publisher replaces the STI-CR feature's (publishing.module.ts); without one, the
  // feature is left out altogether.
  if (options.publisher) builder.overrideProvider(CertificatePublisher).useValue(options.publisher);
  else builder.overrideModule(PublishingModule).useModule(NoPublishingModule);
  const moduleRef = await builder.compile();
  moduleRef.useLogger(false);
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new ProblemFilter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    prisma: app.get(PrismaService),
    procurement: app.get(ProcurementService),
    certificates: app.get(CertificatesService),
    worker: app.get(OrderWorker),
    providers: app.get(ProvidersService),
    stiCas: app.get(StiCasService),
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ProcurementFixture {
  readonly db: TestDatabase;
  readonly sandbox: SandboxProcess;
  readonly clm: ProcurementApp;
}

/**
 * For a describe block: a fresh test database, a real sandbox process and the service's modules
 * on them (no STI-CR publisher unless given), started before its tests and torn down after.
 * Read the fields inside tests (they are set by the beforeAll).
 */
export function useProcurementApp(options: Omit<ProcurementAppOptions, 'db' | 'sandbox'> = {}): ProcurementFixture {
  const fixture = {} as { db: TestDatabase; sandbox: SandboxProcess; clm: ProcurementApp };
  beforeAll(async () => {
    [fixture.db, fixture.sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess()]);
    fixture.clm = await startProcurementApp({ ...options, db: fixture.db, sandbox: fixture.sandbox });
  });
  afterAll(async () => {
    await fixture.clm?.close();
    await fixture.sandbox?.stop();
    await fixture.db?.drop();
  });
  return fixture;
}
