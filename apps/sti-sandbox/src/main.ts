import 'reflect-metadata';
import { SandboxConfigError, loadSandboxConfig } from './config.js';
import { startSandbox } from './sandbox.js';

/**
 * `node --import ./scripts/register-aliases.mjs dist/apps/sti-sandbox/src/main.js`: runs the
 * sandbox STI-PA + STI-CA with configuration from SANDBOX_* variables. When it is ready it prints
 * one JSON line on stdout (base URL, endpoints, data dir, trust files); logs go to stderr.
 */
async function main(): Promise<void> {
  try {
    loadSandboxConfig();
  } catch (error) {
    if (error instanceof SandboxConfigError) {
      process.stderr.write(`sti-sandbox: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const sandbox = await startSandbox({ env: process.env });
  process.stdout.write(
    `${JSON.stringify({
      ready: true,
      baseUrl: sandbox.baseUrl,
      stiPaApi: sandbox.stiPaApi,
      stiPaCrl: sandbox.stiPaCrl,
      acmeDirectory: sandbox.acmeDirectory,
      admin: sandbox.admin,
      dataDir: sandbox.paths.dataDir,
      paths: sandbox.paths,
    })}\n`,
  );

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await sandbox.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  // Started by shaken-clm with an IPC channel: when the parent goes away (even SIGKILLed), so do we,
  // instead of holding the port and the state files for the next start.
  if (process.send) process.once('disconnect', () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`sti-sandbox failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
