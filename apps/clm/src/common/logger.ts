import type { LoggerService } from '@nestjs/common';
import { pino, type Logger as Pino } from 'pino';
import type { LogLevel } from '../config/config.js';

/**
 * Paths pino blanks out wherever they appear in a log object: request credentials and every
 * field name this product uses for a secret. A second line of defence only: code must not log
 * secrets in the first place.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.passwordSealed',
  '*.privateKeyPem',
  '*.privateKey',
  '*.credential',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.hmacKey',
  '*.secret',
  'password',
  'privateKeyPem',
  'credential',
  'token',
];

export function createRootLogger(level: LogLevel, destination?: NodeJS.WritableStream): Pino {
  return pino(
    {
      level,
      base: { service: 'shaken-clm' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}

const NEST_BOOT_CONTEXTS = new Set(['NestFactory', 'NestApplication', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Lets Nest's own Logger calls (and ours through `new Logger(ctx)`) land in the pino stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Pino) {}

  log(message: unknown, ...rest: unknown[]) { this.write('info', message, rest); }
  error(message: unknown, ...rest: unknown[]) { this.write('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]) { this.write('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]) { this.write('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]) { this.write('trace', message, rest); }
  fatal(message: unknown, ...rest: unknown[]) { this.write('fatal', message, rest); }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, rest: unknown[]): void {
    // Nest passes the context name last; an Error's stack (for `error`) comes before it.
    const context = typeof rest.at(-1) === 'string' ? (rest.pop() as string) : undefined;
    // Nest's start-up chatter (a line per module and route) drowns the one line per component
    // the operator needs: it stays available at debug.
    if (level === 'info' && context !== undefined && NEST_BOOT_CONTEXTS.has(context)) level = 'debug';
    const stack = level === 'error' && typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
    if (typeof message === 'object' && message !== null) {
      const { msg, ...fields } = message as Record<string, unknown> & { msg?: string };
      this.root[level]({ context, ...fields, ...(stack ? { stack } : {}) }, msg ?? (rest[0] as string | undefined));
      return;
    }
    this.root[level]({ context, ...(stack ? { stack } : {}) }, String(message));
  }
}
