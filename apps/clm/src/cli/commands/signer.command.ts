import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { callApi, runAction, targetFrom, type ServerOptions } from '../api-client.js';
import { serverTrust, serverUrlProblem } from '../server-connection.js';
import { runSignerSync } from '../signer-sync/sync-agent.js';

interface SignerView { id: string; name: string; ocns: string[]; createdAt: string; disabledAt: string | null; lastSeenAt: string | null; credential?: string }

const CREDENTIAL_SHAPE = /^clm_signer_[A-Za-z0-9_-]{43}$/;
const OCN_SHAPE = /^[0-9A-Z]{4}$/;

/** The signer credential from --credential-file, CLM_SIGNER_CREDENTIAL or --credential (in that order of preference). */
function signerCredential(opts: { credential?: string; credentialFile?: string }): string {
  const value = opts.credentialFile !== undefined
    ? readFileSync(opts.credentialFile, 'utf8').trim()
    : (process.env.CLM_SIGNER_CREDENTIAL ?? opts.credential ?? '').trim();
  if (!CREDENTIAL_SHAPE.test(value)) {
    throw new UsageError('a signer credential (clm_signer_…) is needed: --credential-file FILE, CLM_SIGNER_CREDENTIAL, or --credential (value not shown)');
  }
  return value;
}

class UsageError extends Error {}

export function registerSignerCommands(program: Command): void {
  const signer = program
    .command('signer')
    .description('signer clients (admin API) and the file-based signer sync agent')
    .option('--server <url>', 'shaken-clm base URL (env CLM_SERVER)')
    .option('--token <token>', 'admin token for create/list/rotate/disable (env CLM_TOKEN)');

  signer
    .command('create')
    .description('create a signer scoped to OCNs; its credential is printed once and stored hashed')
    .requiredOption('--name <name>', 'the signing service (SBC, STI-AS) it is for')
    .requiredOption('--ocn <ocn...>', 'OCN(s) it may pull')
    .action(runAction(async (opts: { name: string; ocn: string[] }) => {
      const created = await callApi<SignerView>(targetFrom(signer.opts()), 'POST', '/api/v1/signers', { name: opts.name, ocns: opts.ocn });
      process.stdout.write(`${created.credential}\n`);
      process.stderr.write(`created signer "${created.name}" (id ${created.id}) for ${created.ocns.join(', ')}; the credential will not be shown again\n`);
    }));

  signer
    .command('list')
    .description('list signers and their OCNs (never credentials)')
    .action(runAction(async () => {
      const rows = await callApi<SignerView[]>(targetFrom(signer.opts()), 'GET', '/api/v1/signers');
      console.table(rows.map((r) => ({ id: r.id, name: r.name, ocns: r.ocns.join(' '), lastSeen: r.lastSeenAt ?? '-', disabled: r.disabledAt ?? '-' })));
    }));

  signer
    .command('rotate <id>')
    .description('issue a new credential (printed once); the old one stops working')
    .action(runAction(async (id: string) => {
      const rotated = await callApi<SignerView>(targetFrom(signer.opts()), 'POST', `/api/v1/signers/${encodeURIComponent(id)}/rotate`);
      process.stdout.write(`${rotated.credential}\n`);
      process.stderr.write(`rotated the credential of signer "${rotated.name}"; the previous one no longer works\n`);
    }));

  signer
    .command('disable <id>')
    .description('disable a signer for good')
    .action(runAction(async (id: string) => {
      await callApi<SignerView>(targetFrom(signer.opts()), 'POST', `/api/v1/signers/${encodeURIComponent(id)}/disable`);
      process.stderr.write(`disabled signer ${id}\n`);
    }));

  signer
    .command('sync')
    .description('keep DIR/key.pem (0600), DIR/cert.pem and DIR/x5u current for a file-based signer (Asterisk, Kamailio, OpenSIPS), swapping them atomically; runs until stopped. ' +
      '--server must be https:// (http:// only to loopback: the answers carry private keys), --ca-file for a private CA')
    .requiredOption('--ocn <ocn>', 'the OCN whose active key and x5u to keep')
    .requiredOption('--dir <dir>', 'where the files live (created if missing)')
    .option('--credential <credential>', 'signer credential (visible to other users in the process list: prefer --credential-file or CLM_SIGNER_CREDENTIAL)')
    .option('--credential-file <file>', 'file holding the signer credential')
    .option('--exec <command>', 'shell command run after each change (env CLM_SIGNER_DIR, _OCN, _CERTIFICATE_ID, _X5U, _NOT_AFTER, _KEY_FILE, _CERT_FILE)')
    .option('--key-format <format>', 'sec1 (EC PRIVATE KEY) or pkcs8 (PRIVATE KEY)', 'sec1')
    .option('--once', 'install the current pair if it changed, then exit (0 installed or unchanged, 1 failed)')
    .action(async (opts: { ocn: string; dir: string; credential?: string; credentialFile?: string; exec?: string; keyFormat: string; once?: boolean }) => {
      try {
        if (!OCN_SHAPE.test(opts.ocn)) throw new UsageError(`--ocn must be 4 characters, digits and uppercase letters (got "${opts.ocn}")`);
        if (opts.keyFormat !== 'sec1' && opts.keyFormat !== 'pkcs8') throw new UsageError('--key-format must be sec1 or pkcs8');
        const target = targetFrom(signer.opts<ServerOptions>());
        // The answers carry private keys: https, or http to this very host, and no override.
        if (signer.opts<ServerOptions>().insecureHttp) throw new UsageError('--insecure-http does not apply to signer sync: it receives private keys; use an https:// server');
        const problem = serverUrlProblem(target.server, { receivesPrivateKeys: true });
        if (problem) throw new UsageError(problem);
        try {
          serverTrust(target.caFile);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const stop = new AbortController();
        process.once('SIGTERM', () => stop.abort());
        process.once('SIGINT', () => stop.abort());
        process.exitCode = await runSignerSync({
          server: target.server,
          credential: signerCredential(opts),
          ocn: opts.ocn,
          dir: resolve(opts.dir),
          keyFormat: opts.keyFormat,
          ...(opts.exec ? { exec: opts.exec } : {}),
          ...(target.caFile ? { caFile: target.caFile } : {}),
          ...(opts.once ? { once: true } : {}),
          signal: stop.signal,
        });
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`clm signer sync: ${error.message}\n`);
        process.exitCode = 2;
      }
    });
}
