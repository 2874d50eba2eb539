import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { AdminTokenService } from './auth/admin-token.service.js';
import { createHttpApp } from './boot/http-app.js';
import { prepareRuntime } from './boot/runtime.js';
import { registerEmbeddedSandbox } from './boot/sandbox-registration.js';
import { createRootLogger } from './common/logger.js';
import { ConfigError, loadConfig } from './config/config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`shaken-clm: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const log = createRootLogger(config.logLevel);
  const prepared = await prepareRuntime(config, log);
  let app: Awaited<ReturnType<typeof createHttpApp>> | undefined;
  try {
    app = await createHttpApp(prepared.runtime, log);
    await announceBootstrapToken(app, config.bootstrapAdminToken, log);
    await registerEmbeddedSandbox(app, prepared.runtime);
    await app.listen(config.port, config.host);
  } catch (error) {
    // Whatever failed after the database and sandbox started, they stop with us rather than
    // outlive this process and block the next start (port taken, cluster already running).
    await app?.close().catch(() => undefined);
    await prepared.stop().catch(() => undefined);
    throw error;
  }
  const url = await app.getUrl();
  const listen = `${config.api.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${new URL(url).port}`;
  // One line that says whether keys leave this listener encrypted (CLM_TLS_*) and where.
  const transport = config.api.tls
    ? `https (certificate ${config.api.tls.certFile})`
    : config.api.allowPlaintext
      ? 'plain http (CLM_ALLOW_PLAINTEXT_API: a TLS-terminating proxy must be in front)'
      : 'plain http (loopback only)';
  log.info({ component: 'http', url, listen, transport, docs: `${url}/docs` }, `shaken-clm listening on ${listen}: ${transport}`);
  const running = app;

  let stopping = false;
  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await running.close();
    await prepared.stop();
    log.info('stopped');
    process.exit(exitCode);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  // Our own database gone: stop with an error (a supervisor restarts us, and the next start
  // brings it back) instead of running on with every request and job failing.
  void prepared.componentFailure.then((reason) => {
    log.fatal({ component: 'database', reason }, 'a component the service needs stopped; shutting down');
    void shutdown('component failure', 1);
  });
}

/**
 * First start: with no admin token in the database, one is created and printed once, to the
 * terminal only (not the structured log): it is stored hashed. A CLM_ADMIN_TOKEN set after tokens
 * exist changes nothing, and saying so avoids an operator believing it works.
 */
async function announceBootstrapToken(app: INestApplication, configured: string | undefined, log: Logger): Promise<void> {
  const bootstrap = await app.get(AdminTokenService).ensureBootstrapToken(configured);
  if (bootstrap?.generated) {
    process.stdout.write(
      `\n  First start: an admin token was created. It is shown only this once:\n\n    ${bootstrap.token}\n\n` +
        `  Use it as "Authorization: Bearer <token>" or CLM_TOKEN for the clm CLI.\n\n`,
    );
  } else if (bootstrap) {
    log.info({ component: 'auth' }, 'admin token from CLM_ADMIN_TOKEN registered');
  } else if (configured) {
    log.warn({ component: 'auth' }, 'CLM_ADMIN_TOKEN is ignored: admin tokens exist already (create more with clm tokens create)');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`shaken-clm failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
