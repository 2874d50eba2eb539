import type { Command } from 'commander';
import { callApi, runAction, targetFrom } from '../api-client.js';
import { SUBSCRIBER_REVOCATION_REASONS } from '../../renewal/revocation-reasons.js';
import { formatTable } from '../table.js';

/** The fields of GET /api/v1/certificates[/{id}] the CLI shows (dates arrive as ISO strings). */
export interface CertificateSummary {
  id: string;
  providerId: string;
  ocn: string;
  stiCa: { id: string; name: string };
  state: string;
  order: {
    state: string;
    attempts: number;
    lastError: string | null;
    lastErrorCode: string | null;
    nextAttemptAt: string;
  } | null;
  serial: string | null;
  notBefore: string | null;
  notAfter: string | null;
  daysLeft: number | null;
  x5u: string | null;
  renewAt: string | null;
  events?: { at: string; type: string; details: unknown }[];
}

/** POST /api/v1/certificates/{id}/revoke (renewal.controller.ts RevocationView). */
interface RevocationResult {
  state: 'revoked' | 'revocation_pending';
  certificate: CertificateSummary;
  replacement: CertificateSummary | null;
}

const COLUMNS = ['ID', 'OCN', 'STATE', 'ORDER', 'DAYS LEFT', 'NOT AFTER', 'STI-CA', 'NOTE'] as const;

/** One row per certificate; NOTE says why an order waits or failed. */
export function certificateRows(certificates: readonly CertificateSummary[]): string[][] {
  return certificates.map((c) => [
    c.id,
    c.ocn,
    c.state,
    c.order?.state ?? '-',
    c.daysLeft === null ? '-' : String(c.daysLeft),
    c.notAfter ? c.notAfter.slice(0, 10) : '-',
    c.stiCa.name,
    note(c),
  ]);
}

function note(c: CertificateSummary): string {
  const order = c.order;
  if (!order?.lastErrorCode) return '';
  if (order.state === 'failed') return `failed: ${order.lastErrorCode}`;
  return `${order.lastErrorCode}, retry ${order.nextAttemptAt.slice(0, 16).replace('T', ' ')}Z (attempt ${order.attempts})`;
}

/** `clm certs show`: the certificate, its order and its timeline, for a terminal. */
export function formatCertificate(c: CertificateSummary): string {
  const lines = [
    `certificate ${c.id}`,
    `  OCN            ${c.ocn}`,
    `  state          ${c.state}`,
    `  STI-CA         ${c.stiCa.name} (${c.stiCa.id})`,
    `  serial         ${c.serial ?? '-'}`,
    `  valid          ${c.notBefore ?? '-'} .. ${c.notAfter ?? '-'}${c.daysLeft === null ? '' : ` (${c.daysLeft} days left)`}`,
    `  x5u            ${c.x5u ?? '-'}`,
    `  renew at       ${c.renewAt ?? '-'}`,
  ];
  if (c.order) {
    lines.push(`  order          ${c.order.state}, attempts ${c.order.attempts}`);
    if (c.order.lastErrorCode) {
      lines.push(`  last error     ${c.order.lastErrorCode}: ${c.order.lastError ?? ''}`);
      if (c.order.state !== 'failed' && c.order.state !== 'active') lines.push(`  next attempt   ${c.order.nextAttemptAt}`);
    }
  }
  if (c.events?.length) {
    lines.push('  events');
    for (const event of c.events) lines.push(`    ${event.at}  ${event.type}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerCertCommands(program: Command): void {
  const certs = program
    .command('certs')
    .description('order and inspect certificates (needs an admin token)')
    .option('--server <url>', 'shaken-clm base URL (env CLM_SERVER)')
    .option('--token <token>', 'admin token (env CLM_TOKEN)');

  certs
    .command('request')
    .description('order a certificate for an OCN from an STI-CA; prints its id (the work continues in the service)')
    .requiredOption('--provider <id>', 'provider id')
    .requiredOption('--ocn <ocn>', 'the OCN (SPC), e.g. 818H')
    .requiredOption('--ca <id>', 'STI-CA id')
    .option('--validity-days <days>', 'requested validity in days', (value: string) => Number(value))
    .action(runAction(async (opts: { provider: string; ocn: string; ca: string; validityDays?: number }) => {
      const body = { providerId: opts.provider, ocn: opts.ocn, stiCaId: opts.ca, ...(opts.validityDays !== undefined ? { validityDays: opts.validityDays } : {}) };
      const created = await callApi<CertificateSummary>(targetFrom(certs.opts()), 'POST', '/api/v1/certificates', body);
      process.stdout.write(`${created.id}\n`);
      process.stderr.write(`certificate ${created.id} for OCN ${created.ocn} is ${created.state}; follow it with: clm certs show ${created.id}\n`);
    }));

  certs
    .command('list')
    .description('list certificates with their state and days left')
    .option('--ocn <ocn>', 'only this OCN')
    .option('--state <state>', 'only this state (e.g. active, failed)')
    .option('--provider <id>', 'only this provider')
    .option('--json', 'print the API answer as JSON')
    .action(runAction(async (opts: { ocn?: string; state?: string; provider?: string; json?: boolean }) => {
      const query = new URLSearchParams();
      if (opts.ocn) query.set('ocn', opts.ocn);
      if (opts.state) query.set('state', opts.state);
      if (opts.provider) query.set('providerId', opts.provider);
      const path = `/api/v1/certificates${query.size > 0 ? `?${query}` : ''}`;
      const list = await callApi<CertificateSummary[]>(targetFrom(certs.opts()), 'GET', path);
      process.stdout.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatTable(COLUMNS, certificateRows(list)));
    }));

  certs
    .command('renew <id>')
    .description('renew now: orders a new certificate (new key unless the policy says never); prints its id. The current one stays active until the new one is')
    .option('--validity-days <days>', 'validity of the new certificate', (value: string) => Number(value))
    .action(runAction(async (id: string, opts: { validityDays?: number }) => {
      const body = opts.validityDays !== undefined ? { validityDays: opts.validityDays } : {};
      const renewal = await callApi<CertificateSummary>(targetFrom(certs.opts()), 'POST', `/api/v1/certificates/${encodeURIComponent(id)}/renew`, body);
      process.stdout.write(`${renewal.id}\n`);
      process.stderr.write(`renewal ${renewal.id} of ${id} is ${renewal.state}; ${id} stays active until it is. Follow it with: clm certs show ${renewal.id}\n`);
    }));

  certs
    .command('revoke <id>')
    .description('revoke at the STI-CA (ACME revokeCert); with --replace, order a replacement first and revoke once it is active (prints its id)')
    .requiredOption('--reason <reason>', `RFC 5280 CRLReason: ${SUBSCRIBER_REVOCATION_REASONS.join(', ')}`)
    .option('--replace', 'order a replacement first, so the OCN is never without an active certificate')
    .action(runAction(async (id: string, opts: { reason: string; replace?: boolean }) => {
      const body = { reason: opts.reason, ...(opts.replace ? { replace: true } : {}) };
      const result = await callApi<RevocationResult>(targetFrom(certs.opts()), 'POST', `/api/v1/certificates/${encodeURIComponent(id)}/revoke`, body);
      if (result.state === 'revoked') {
        process.stderr.write(`revoked ${id} (${opts.reason}); it is ${result.certificate.state}\n`);
        return;
      }
      process.stdout.write(`${result.replacement?.id ?? ''}\n`);
      process.stderr.write(`replacement ${result.replacement?.id} is ${result.replacement?.state}; ${id} is revoked once it is active (revocation pending). Follow it with: clm certs show ${result.replacement?.id}\n`);
    }));

  certs
    .command('show <id>')
    .description('show one certificate, its order (state, attempts, last error, next attempt) and its events')
    .option('--json', 'print the API answer as JSON')
    .action(runAction(async (id: string, opts: { json?: boolean }) => {
      const certificate = await callApi<CertificateSummary>(targetFrom(certs.opts()), 'GET', `/api/v1/certificates/${encodeURIComponent(id)}`);
      process.stdout.write(opts.json ? `${JSON.stringify(certificate, null, 2)}\n` : formatCertificate(certificate));
    }));
}
