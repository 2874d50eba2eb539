import type { Command } from 'commander';
import { callApi, runAction, targetFrom, type ApiTarget } from '../api-client.js';
import { formatTable } from '../table.js';

/** The fields of GET /api/v1/providers the CLI shows (providers.service.ts ProviderView). */
export interface ProviderSummary {
  id: string;
  legalName: string;
  frn: string;
  filer499Id: string | null;
  rmdNumber: string | null;
  contactEmail: string;
  ocns: string[];
  stiPaAccount: { environment: string; baseUrl: string; userId: string; lastLoginAt: string | null; lastError: string | null } | null;
  tokenRefusals: { ocn: string; at: string; code: string | null; reason: string | null }[];
  signingSuspended: { at: string; reason: string | null } | null;
}

export interface NewProvider {
  legalName: string;
  frn: string;
  filer499Id?: string;
  rmdNumber?: string;
  contactEmail: string;
}

/** POST /providers, then POST /providers/{id}/ocns per OCN; the API names each bad field. */
export async function addProvider(target: ApiTarget, provider: NewProvider, ocns: readonly string[]): Promise<ProviderSummary> {
  let created = await callApi<ProviderSummary>(target, 'POST', '/api/v1/providers', provider);
  for (const ocn of ocns) created = await callApi<ProviderSummary>(target, 'POST', `/api/v1/providers/${created.id}/ocns`, { ocn });
  return created;
}

const COLUMNS = ['ID', 'LEGAL NAME', 'FRN', '499-A', 'RMD', 'OCNS', 'STI-PA USER', 'NOTE'] as const;

export function providerRows(providers: readonly ProviderSummary[]): string[][] {
  return providers.map((p) => [
    p.id,
    p.legalName,
    p.frn,
    p.filer499Id ?? '-',
    p.rmdNumber ?? '-',
    p.ocns.length ? p.ocns.join(' ') : '-',
    p.stiPaAccount ? `${p.stiPaAccount.userId} (${p.stiPaAccount.environment})` : '-',
    [
      p.signingSuspended ? `signing suspended ${p.signingSuspended.at.slice(0, 10)}` : '',
      ...p.tokenRefusals.map((r) => `SPC token refused for ${r.ocn} ${r.at.slice(0, 10)}`),
    ].filter(Boolean).join('; '),
  ]);
}

export function registerProviderCommands(program: Command): void {
  const providers = program
    .command('providers')
    .description('onboard and list providers (needs an admin token)')
    .option('--server <url>', 'shaken-clm base URL (env CLM_SERVER)')
    .option('--token <token>', 'admin token (env CLM_TOKEN)');

  providers
    .command('add')
    .description('onboard a provider and its OCNs; prints its id')
    .requiredOption('--legal-name <name>', 'legal name, as in the certificate subject O=')
    .requiredOption('--frn <frn>', 'FCC Registration Number, 10 digits')
    .option('--filer499 <id>', 'Form 499-A filer ID, 6 digits')
    .option('--rmd <number>', 'Robocall Mitigation Database number, e.g. RMD0012345')
    .requiredOption('--email <email>', 'contact email for STIR/SHAKEN matters')
    .option('--ocn <ocn...>', 'OCN(s) the provider holds, e.g. 818H')
    .action(runAction(async (opts: { legalName: string; frn: string; filer499?: string; rmd?: string; email: string; ocn?: string[] }) => {
      const created = await addProvider(targetFrom(providers.opts()), {
        legalName: opts.legalName,
        frn: opts.frn,
        ...(opts.filer499 !== undefined ? { filer499Id: opts.filer499 } : {}),
        ...(opts.rmd !== undefined ? { rmdNumber: opts.rmd } : {}),
        contactEmail: opts.email,
      }, opts.ocn ?? []);
      process.stdout.write(`${created.id}\n`);
      process.stderr.write(`onboarded "${created.legalName}" (FRN ${created.frn})${created.ocns.length ? ` with OCN ${created.ocns.join(', ')}` : ''}; check what is left with: clm readiness ${created.id}\n`);
    }));

  providers
    .command('list')
    .description('list providers with their identifiers, OCNs and STI-PA user')
    .option('--json', 'print the API answer as JSON')
    .action(runAction(async (opts: { json?: boolean }) => {
      const list = await callApi<ProviderSummary[]>(targetFrom(providers.opts()), 'GET', '/api/v1/providers');
      process.stdout.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatTable(COLUMNS, providerRows(list)));
    }));

  providers
    .command('suspend-signing <providerId>')
    .description('stop the provider signing calls (its SPC token was revoked): signers get 403 for its OCNs at once; audited')
    .requiredOption('--reason <text>', 'why, e.g. "SPC token revoked by the STI-GA"; kept in the audit log and shown by readiness')
    .action(runAction(async (providerId: string, opts: { reason: string }) => {
      const provider = await callApi<ProviderSummary>(targetFrom(providers.opts()), 'POST', `/api/v1/providers/${encodeURIComponent(providerId)}/suspend-signing`, { reason: opts.reason });
      process.stdout.write(formatTable(COLUMNS, providerRows([provider])));
      process.stderr.write(`signing suspended for "${provider.legalName}"${provider.ocns.length ? ` (OCN ${provider.ocns.join(', ')})` : ''}; lift it with: clm providers resume-signing ${provider.id}\n`);
    }));

  providers
    .command('resume-signing <providerId>')
    .description('lift a signing suspension (the STI-GA reinstated the provider): signers are served again; audited')
    .action(runAction(async (providerId: string) => {
      const provider = await callApi<ProviderSummary>(targetFrom(providers.opts()), 'POST', `/api/v1/providers/${encodeURIComponent(providerId)}/resume-signing`);
      process.stdout.write(formatTable(COLUMNS, providerRows([provider])));
      process.stderr.write(`signing resumed for "${provider.legalName}"\n`);
    }));
}
