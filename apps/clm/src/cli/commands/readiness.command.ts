import type { Command } from 'commander';
import type { ProviderReadinessView, ReadinessItemView } from '../../onboarding/readiness/readiness.views.js';
import { callApi, runAction, targetFrom, type ApiTarget } from '../api-client.js';
import { formatTable } from '../table.js';

/** GET /api/v1/providers/{id}/readiness as the CLI receives it (dates as strings). */
export type ReadinessAnswer = Omit<ProviderReadinessView, 'checkedAt'> & { checkedAt: string };

/** Provider-wide items are repeated in each OCN's list by the API; the table shows them once. */
const PROVIDER_WIDE = new Set(['frn', 'filer499', 'rmd', 'stiPaAccount', 'signing', 'ocns']);
const COLUMNS = ['OCN', 'ITEM', 'STATUS', 'NEXT STEP'] as const;

interface Line { ocn: string; item: string; value: ReadinessItemView }

function lines(view: ReadinessAnswer): Line[] {
  const out: Line[] = Object.entries(view.provider).map(([item, value]) => ({ ocn: '(all)', item, value }));
  for (const ocn of view.ocns) {
    for (const [item, value] of Object.entries(ocn.items)) if (!PROVIDER_WIDE.has(item)) out.push({ ocn: ocn.ocn, item, value });
  }
  return out;
}

/** The checklist as a table (OCN × item, status, next step), then why each item is not ok. */
export function formatReadiness(view: ReadinessAnswer): string {
  const all = lines(view);
  const table = formatTable(COLUMNS, all.map(({ ocn, item, value }) => [ocn, item, value.status, value.nextStep ?? '']));
  const notOk = all.filter((l) => l.value.status !== 'ok');
  const why = notOk.map((l) => `  ${l.ocn} ${l.item}: ${l.value.reason}`);
  const summary = notOk.length === 0
    ? `ready: every item ok for ${view.legalName} (${view.ocns.map((o) => o.ocn).join(', ')})`
    : `not ready: ${notOk.filter((l) => l.value.status === 'missing').length} missing, ${notOk.filter((l) => l.value.status === 'failing').length} failing`;
  return `${table}${why.length ? `\nwhy:\n${why.join('\n')}\n` : ''}\n${summary}\n`;
}

export function fetchReadiness(target: ApiTarget, providerId: string): Promise<ReadinessAnswer> {
  return callApi<ReadinessAnswer>(target, 'GET', `/api/v1/providers/${encodeURIComponent(providerId)}/readiness`);
}

export function registerReadinessCommand(program: Command): void {
  const readiness = program
    .command('readiness <providerId>')
    .description('the onboarding checklist per OCN (STI-PA login, SPC token, certificate, x5u, signer…); exit 1 unless every item is ok')
    .option('--server <url>', 'shaken-clm base URL (env CLM_SERVER)')
    .option('--token <token>', 'admin token (env CLM_TOKEN)')
    .option('--json', 'print the API answer as JSON')
    .action(runAction(async (providerId: string, opts: { json?: boolean }) => {
      const view = await fetchReadiness(targetFrom(readiness.opts()), providerId);
      process.stdout.write(opts.json ? `${JSON.stringify(view, null, 2)}\n` : formatReadiness(view));
      if (!view.ready) process.exitCode = 1;
    }));
}
