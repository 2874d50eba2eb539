import type { Command } from 'commander';
import { callApi, runAction, targetFrom } from '../api-client.js';

export function registerKeyCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('key-encryption key maintenance (needs an admin token)')
    .option('--server <url>', 'shaken-clm base URL (env CLM_SERVER)')
    .option('--token <token>', 'admin token (env CLM_TOKEN)');

  keys
    .command('rewrap')
    .description('reseal every stored secret under the current CLM_MASTER_KEY (run after rotating it, with the old key in CLM_PREVIOUS_MASTER_KEYS)')
    .action(runAction(async () => {
      const report = await callApi<Record<string, unknown>>(targetFrom(keys.opts()), 'POST', '/api/v1/keys/rewrap');
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    }));
}
