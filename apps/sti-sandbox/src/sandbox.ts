import 'reflect-metadata';
import { createServer } from 'node:net';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { pino, type Logger as Pino } from 'pino';
import { loadSandboxConfig, type SandboxConfig } from './config.js';
import type { FaultSettings } from './faults/fault-settings.js';
import { installHttpHooks } from './http-hooks.js';
import { prepareRuntime, type SandboxRuntime } from './runtime.js';
import { SandboxModule } from './sandbox.module.js';
import { DEMO_USERS } from './sti-pa/sti-pa-users.js';

/** Where clients find the sandbox and what they must trust. */
export interface SandboxPaths {
  dataDir: string;
  /** TLS root of the HTTPS listener: trust it explicitly (undici `connect: { ca }`). */
  tlsRoot: string;
  /** Pinned STI-PA root: SPC tokens and the CA list chain to it. */
  stiPaRoot: string;
  /** STI-PA signing certificate (the x5u of tokens and CA list). */
  stiPaSigning: string;
  /** The STI-PA CRL signer (real DN `L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA`). */
  stiPaCrlSigner: string;
  /** The same CRL key certified by the STI-CA root, for RFC 5280 validators (OpenSSL -extended_crl). */
  stiPaCrlSignerByStiCa: string;
  /** The STI-CA root: on the CA list; the trust anchor of issued certificates. */
  stiCaRoot: string;
  stiCaIntermediate: string;
  /** Generated admin secret (absent when SANDBOX_ADMIN_SECRET was given). */
  adminSecret?: string;
}

export interface SandboxEndpoints {
  baseUrl: string;
  stiPaApi: string;
  stiPaCrl: string;
  acmeDirectory: string;
  admin: string;
}

export interface RunningSandbox extends SandboxEndpoints {
  paths: SandboxPaths;
  /** The admin secret in force (from config or generated). */
  adminSecret: string;
  stop(): Promise<void>;
}

export interface StartSandboxOptions {
  /** Environment-style settings (SANDBOX_*), parsed like the process environment. */
  env?: Record<string, string | undefined>;
  /** Typed overrides applied after `env`. */
  dataDir?: string;
  host?: string;
  /** 0 (default for the programmatic API) picks a free port. */
  port?: number;
  adminSecret?: string;
  faults?: Partial<FaultSettings>;
  logger?: Pino;
  clock?: () => Date;
}

/** A port the OS says is free. Known before listening because certificates carry the CRL URL. */
async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address !== 'string' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function pathsOf(runtime: SandboxRuntime): SandboxPaths {
  const { pki } = runtime;
  return {
    dataDir: runtime.config.dataDir,
    tlsRoot: runtime.tls.rootPath,
    stiPaRoot: pki.stiPaRoot.certificatePath,
    stiPaSigning: pki.stiPaSigning.certificatePath,
    stiPaCrlSigner: pki.stiPaCrlSigner.certificatePath,
    stiPaCrlSignerByStiCa: pki.crlSignerByStiCa.certificatePath,
    stiCaRoot: pki.stiCaRoot.certificatePath,
    stiCaIntermediate: pki.stiCaIntermediate.certificatePath,
    ...(runtime.adminSecretPath ? { adminSecret: runtime.adminSecretPath } : {}),
  };
}

export async function createSandboxApp(runtime: SandboxRuntime, log: Pino): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    https: { key: runtime.tls.keyPem, cert: runtime.tls.certPem },
    loggerInstance: log.child({ component: 'http' }),
    bodyLimit: 256 * 1024,
    exposeHeadRoutes: false,
    trustProxy: false,
  });
  installHttpHooks(adapter.getInstance(), runtime);
  const app = await NestFactory.create<NestFastifyApplication>(SandboxModule.forRoot(runtime), adapter, { logger: false, abortOnError: false });
  // ARCHITECTURE.md habit 4: one strict validation style; unknown fields are an error.
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  return app;
}

/**
 * Starts the sandbox in this process: STI-PA under `/sti-pa`, STI-CA (ACME) under `/acme`, admin
 * under `/admin`, HTTPS only. State and trust anchors persist in the data directory.
 */
export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const base = loadSandboxConfig({ SANDBOX_PORT: '0', ...options.env });
  const config: SandboxConfig = {
    ...base,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.adminSecret !== undefined ? { adminSecret: options.adminSecret } : {}),
    faults: { ...base.faults, ...options.faults },
  };
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'sti-sandbox' } }, pino.destination(2));
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const runtime = await prepareRuntime(config, port, log, options.clock);
  const app = await createSandboxApp(runtime, log);
  await app.listen(port, config.host);
  log.info({ url: runtime.urls.base, dataDir: config.dataDir, demoUsers: DEMO_USERS.map((user) => user.userId) }, 'STI sandbox listening');

  let stopped: Promise<void> | undefined;
  return {
    baseUrl: runtime.urls.base,
    stiPaApi: runtime.urls.stiPaApi,
    stiPaCrl: runtime.urls.stiPaCrl,
    acmeDirectory: runtime.urls.acmeDirectory,
    admin: runtime.urls.admin,
    paths: pathsOf(runtime),
    adminSecret: runtime.adminSecret,
    stop: () =>
      (stopped ??= (async () => {
        await app.close();
        await runtime.background.stop();
        await runtime.store.flush();
      })()),
  };
}
