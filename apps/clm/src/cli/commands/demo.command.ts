import type { Command } from 'commander';
import { runAction, targetFrom } from '../api-client.js';
import { DemoError, runDemo } from '../demo/demo-journey.js';

export function registerDemoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description('run the whole onboarding journey against a running embedded instance and its sandbox, printing each step and its time; exit 1 unless readiness ends all ok')
    .option('--server <url>', 'shaken-clm base URL (env CLM_SERVER)')
    .option('--token <token>', 'admin token (env CLM_TOKEN)')
    .option('--timeout <seconds>', 'how long to wait for the certificate to become active', (value: string) => Number(value), 120)
    .action(runAction(async (opts: { timeout: number }) => {
      try {
        const result = await runDemo({ target: targetFrom(demo.opts()), timeoutMs: opts.timeout * 1_000, write: (text) => process.stdout.write(text) });
        if (!result.ready) process.exitCode = 1;
      } catch (error) {
        if (!(error instanceof DemoError)) throw error;
        process.stderr.write(`clm demo: ${error.message}\n`);
        process.exitCode = 1;
      }
    }));
}
