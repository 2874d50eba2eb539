import type { Command } from 'commander';
import { ADMIN_ROLES } from '../../auth/roles.js';
import { callApi, runAction, targetFrom } from '../api-client.js';

interface TokenView { id: string; name: string; role: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null; token?: string }

export function registerTokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('manage admin API tokens (needs an admin token)')
    .option('--server <url>', 'shaken-clm base URL (env CLM_SERVER)')
    .option('--token <token>', 'admin token (env CLM_TOKEN)');

  tokens
    .command('create')
    .description('create a token; it is printed once and stored hashed')
    .requiredOption('--role <role>', `one of ${ADMIN_ROLES.join(', ')}`)
    .option('--name <name>', 'who will use it', 'cli')
    .action(runAction(async (opts: { role: string; name: string }) => {
      const created = await callApi<TokenView>(targetFrom(tokens.opts()), 'POST', '/api/v1/admin-tokens', { name: opts.name, role: opts.role });
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`created ${created.role} token "${created.name}" (id ${created.id}); it will not be shown again\n`);
    }));

  tokens
    .command('list')
    .description('list tokens (never their values)')
    .action(runAction(async () => {
      const rows = await callApi<TokenView[]>(targetFrom(tokens.opts()), 'GET', '/api/v1/admin-tokens');
      console.table(rows.map((r) => ({ id: r.id, name: r.name, role: r.role, lastUsed: r.lastUsedAt ?? '-', revoked: r.revokedAt ?? '-' })));
    }));

  tokens
    .command('revoke <id>')
    .description('revoke a token')
    .action(runAction(async (id: string) => {
      await callApi<TokenView>(targetFrom(tokens.opts()), 'POST', `/api/v1/admin-tokens/${encodeURIComponent(id)}/revoke`);
      process.stderr.write(`revoked ${id}\n`);
    }));
}
