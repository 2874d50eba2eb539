import { Command } from 'commander';
import { registerCertCommands } from './commands/certs.command.js';
import { registerDemoCommand } from './commands/demo.command.js';
import { registerProviderCommands } from './commands/providers.command.js';
import { registerReadinessCommand } from './commands/readiness.command.js';
import { registerLintCommands } from './commands/lint.command.js';
import { registerSignerCommands } from './commands/signer.command.js';
import { registerDbCommands } from './commands/db.command.js';
import { registerKeyCommands } from './commands/keys.command.js';
import { registerTokenCommands } from './commands/tokens.command.js';

/**
 * The `clm` command tree. Each feature registers its own sub-commands here so that this file
 * stays a table of contents rather than a god module.
 */
export function buildProgram(): Command {
  const program = new Command('clm')
    .description('shaken-clm: STIR/SHAKEN certificate lifecycle manager')
    .showHelpAfterError();
  registerTokenCommands(program);
  registerKeyCommands(program);
  registerDbCommands(program);
  registerLintCommands(program);
  registerProviderCommands(program);
  registerCertCommands(program);
  registerReadinessCommand(program);
  registerSignerCommands(program);
  registerDemoCommand(program);
  addServerTransportOptions(program);
  return program;
}

/**
 * Every command group that talks to the service (it has --server) also takes how to reach it
 * safely: the CA of an https server, and the explicit opt-in to plain http off loopback
 * (api-client.ts and server-connection.ts apply them; signer sync refuses the opt-in).
 */
function addServerTransportOptions(program: Command): void {
  for (const group of program.commands) {
    if (!group.options.some((option) => option.long === '--server')) continue;
    group
      .option('--ca-file <file>', 'extra TLS root(s), PEM, for an https server with a private CA (env CLM_CA_FILE)')
      .option('--insecure-http', 'allow plain http to a non-loopback server: the token crosses the network in cleartext (env CLM_INSECURE_HTTP=true; never for signer sync)');
  }
}
