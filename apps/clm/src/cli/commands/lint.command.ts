import { readFile } from 'node:fs/promises';
import {
  type LintFinding,
  ShakenError,
  fetchStiCr,
  lintCertificate,
  lintStiCrResponse,
  parseCertificates,
  stiCrDispatcher,
} from '@app/shaken';
import { type Command, InvalidArgumentError } from 'commander';

/** The findings for one certificate (or, with `subject: null`, for an STI-CR HTTP response). */
export interface LintReportEntry {
  file: string;
  subject: string | null;
  findings: LintFinding[];
}

/** An input that could not be linted at all, with the reason in words. */
export interface UnreadableInput {
  file: string;
  reason: string;
}

export interface LintRun {
  entries: LintReportEntry[];
  unreadable: UnreadableInput[];
}

export interface LintRunOptions {
  /** Judge rule effectiveness and certificate validity at this moment (default: now). */
  now?: Date;
}

export interface LintUrlOptions extends LintRunOptions {
  timeoutMs?: number;
  /** PEM of a CA to trust besides the public roots (a private STI-CR or a test server). */
  caPem?: string;
  /** Connect here instead of the x5u host (the host name is still verified). */
  connectTo?: { host: string; port: number };
}

/** Exit status: 2 when an input could not be read, 1 when any finding is an error, else 0. */
export function exitCodeFor(run: LintRun): 0 | 1 | 2 {
  if (run.unreadable.length > 0) return 2;
  return run.entries.some((e) => e.findings.some((f) => f.severity === 'error')) ? 1 : 0;
}

function reasonOf(err: unknown): string {
  if (err instanceof ShakenError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  throw err;
}

/** Lints every certificate in each file (PEM with one or more certificates, or DER). */
export async function lintCertificateFiles(files: string[], opts: LintRunOptions = {}): Promise<LintRun> {
  const run: LintRun = { entries: [], unreadable: [] };
  for (const file of files) {
    try {
      const certs = parseCertificates(new Uint8Array(await readFile(file)));
      for (const cert of certs) run.entries.push({ file, subject: cert.subject, findings: lintCertificate(cert, { now: opts.now }) });
    } catch (err) {
      run.unreadable.push({ file, reason: reasonOf(err) });
    }
  }
  return run;
}

/** The URL as it may be printed: credentials in it are replaced, never shown. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '***';
      parsed.password = '';
    }
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Fetches an x5u like a verifier and lints the response (first entry, `subject: null`) and every
 * certificate it serves.
 */
export async function lintX5u(url: string, opts: LintUrlOptions = {}): Promise<LintRun> {
  const shown = displayUrl(url);
  const dispatcher = stiCrDispatcher({ caPem: opts.caPem, connectTo: opts.connectTo });
  try {
    const res = await fetchStiCr(url, { timeoutMs: opts.timeoutMs, dispatcher });
    const run: LintRun = { entries: [{ file: shown, subject: null, findings: lintStiCrResponse(res, { now: opts.now }) }], unreadable: [] };
    if (res.status === 200 && !res.truncated) {
      let certs: ReturnType<typeof parseCertificates> = [];
      try {
        certs = parseCertificates(res.body);
      } catch {
        // lintStiCrResponse has already reported the unreadable body.
      }
      for (const cert of certs) run.entries.push({ file: shown, subject: cert.subject, findings: lintCertificate(cert, { now: opts.now }) });
    }
    return run;
  } catch (err) {
    if (err instanceof ShakenError) return { entries: [], unreadable: [{ file: shown, reason: err.message }] };
    throw err;
  } finally {
    await dispatcher.close();
  }
}

/** The `--json` document: one object per certificate (and per response), findings without citations. */
export function toJsonReport(run: LintRun): Array<{ file: string; subject: string | null; findings: Array<Pick<LintFinding, 'code' | 'severity' | 'message'>> }> {
  return run.entries.map((e) => ({
    file: e.file,
    subject: e.subject,
    findings: e.findings.map(({ code, severity, message }) => ({ code, severity, message })),
  }));
}

/** A report for people: each certificate, its findings with citations, then totals. */
export function formatReport(run: LintRun): string {
  const lines: string[] = [];
  for (const entry of run.entries) {
    lines.push(`${entry.file}: ${entry.subject ?? 'STI-CR response'}`);
    if (entry.findings.length === 0) lines.push('  ok: no findings');
    for (const f of entry.findings) lines.push(`  ${f.severity.padEnd(7)} ${f.code}: ${f.message} [${f.citation}]`);
  }
  const all = run.entries.flatMap((e) => e.findings);
  const errors = all.filter((f) => f.severity === 'error').length;
  const certificates = run.entries.filter((e) => e.subject !== null).length;
  lines.push(
    `${certificates} certificate${certificates === 1 ? '' : 's'}, ${errors} error${errors === 1 ? '' : 's'}, ${all.length - errors} warning${all.length - errors === 1 ? '' : 's'}` +
      (run.unreadable.length > 0 ? `, ${run.unreadable.length} unreadable input${run.unreadable.length === 1 ? '' : 's'}` : ''),
  );
  return `${lines.join('\n')}\n`;
}

function parseDate(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('expected an ISO 8601 date, e.g. 2025-01-31 or 2025-01-31T12:00:00Z');
  return date;
}

function parseTimeout(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) throw new InvalidArgumentError('expected a positive number of milliseconds');
  return ms;
}

/** "host:port" or "[v6-address]:port". */
function parseConnectTo(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:8443');
  return { host: match[1] ?? match[2], port };
}

// Usage errors share exit status 2 with unreadable input, keeping 1 for "the linter found errors".
function usageErrorsExitTwo(command: Command): Command {
  return command.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
}

function print(run: LintRun, json: boolean): void {
  for (const u of run.unreadable) process.stderr.write(`clm: cannot lint ${u.file}: ${u.reason}\n`);
  process.stdout.write(json ? `${JSON.stringify(toJsonReport(run), null, 2)}\n` : formatReport(run));
  process.exitCode = exitCodeFor(run);
}

interface OutputOptions {
  json?: boolean;
  at?: Date;
}

export function registerLintCommands(program: Command): void {
  const lint = program
    .command('lint')
    .description('lint certificates against ATIS-1000080 / US SHAKEN CP (exit 1 on errors, 2 on unreadable input)')
    .argument('<file...>', 'PEM (one or more certificates) or DER files')
    .option('--json', 'print [{file, subject, findings:[{code, severity, message}]}]')
    .option('--at <date>', 'judge as of this date instead of now', parseDate)
    .action(async (files: string[], opts: OutputOptions) => {
      print(await lintCertificateFiles(files, { now: opts.at }), opts.json ?? false);
    });
  usageErrorsExitTwo(lint);

  const lintUrl = program
    .command('lint-url')
    .description('fetch an x5u like a verifier and lint the STI-CR response and each certificate it serves')
    .argument('<x5u>', 'the certificate URL, as put in PASSporT x5u')
    .option('--json', 'print [{file, subject, findings:[{code, severity, message}]}]; subject null is the HTTP response')
    .option('--at <date>', 'judge as of this date instead of now', parseDate)
    .option('--ca-file <pem>', 'also trust this CA for the TLS connection (private or test STI-CR)')
    .option('--timeout <ms>', 'give up after this many milliseconds', parseTimeout, 5000)
    .option('--connect-to <host:port>', "connect here instead of the x5u's host, still verifying its name (test before DNS cutover)", parseConnectTo)
    .action(async (url: string, opts: OutputOptions & { caFile?: string; timeout: number; connectTo?: { host: string; port: number } }) => {
      let caPem: string | undefined;
      if (opts.caFile) {
        try {
          caPem = await readFile(opts.caFile, 'utf8');
        } catch (err) {
          print({ entries: [], unreadable: [{ file: opts.caFile, reason: reasonOf(err) }] }, opts.json ?? false);
          return;
        }
      }
      print(await lintX5u(url, { now: opts.at, timeoutMs: opts.timeout, caPem, connectTo: opts.connectTo }), opts.json ?? false);
    });
  usageErrorsExitTwo(lintUrl);
}
