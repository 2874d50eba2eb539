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
  return program;
}
