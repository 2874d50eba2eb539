import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { DbError } from './errors.js';
import { Prisma, PrismaClient } from './generated/prisma/client.js';

export const DB_OPTIONS = Symbol('DbModuleOptions');

export interface DbModuleOptions {
  /** PostgreSQL connection string. */
  readonly url: string;
  /** Most connections the pool opens; default pg's (10). */
  readonly poolSize?: number;
}

/** The client handed to a transaction callback. */
export type Tx = Prisma.TransactionClient;

export interface TransactionOptions {
  readonly isolationLevel?: Prisma.TransactionIsolationLevel;
  /** Longest the callback may run before Prisma rolls it back; default 5 s (Prisma's). */
  readonly timeoutMs?: number;
  /** Extra attempts after a serialization failure or deadlock; default 2. */
  readonly retries?: number;
}

// PostgreSQL asks the client to retry these: the transaction lost a race, not a bug.
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/**
 * The Prisma client for the service, over node-postgres (Prisma 7 needs no engine binary this way).
 * Connects when the module starts and disconnects when it stops.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(DB_OPTIONS) options: DbModuleOptions) {
    super({ adapter: new PrismaPg({ connectionString: options.url, ...(options.poolSize ? { max: options.poolSize } : {}) }) });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }

  /**
   * Runs `fn` in one interactive transaction: everything it writes commits together or not at
   * all. A serialization failure or deadlock reruns `fn` from the start (so `fn` must not have
   * side effects outside the database). When every attempt conflicts: DbError DB.TRANSACTION_CONFLICT.
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const retries = options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.$transaction(fn, {
          ...(options.isolationLevel ? { isolationLevel: options.isolationLevel } : {}),
          ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
        });
      } catch (error) {
        if (!isRetryable(error)) throw error;
        if (attempt >= retries) {
          throw new DbError('DB.TRANSACTION_CONFLICT', `the transaction conflicted with concurrent ones ${attempt + 1} time(s); try again`, { cause: error });
        }
      }
    }
  }
}

/**
 * A lost race, as Prisma 7 reports it: P2034 from a query, or, when PostgreSQL aborts at COMMIT,
 * the pg adapter's DriverAdapterError of kind TransactionWriteConflict (SQLSTATE 40001 / 40P01).
 */
function isRetryable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (error.code === 'P2034') return true;
    return isWriteConflict((error.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
  }
  return isWriteConflict(error);
}

function isWriteConflict(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'DriverAdapterError') return false;
  const cause = error.cause as { kind?: unknown; originalCode?: unknown } | undefined;
  return cause?.kind === 'TransactionWriteConflict' || (typeof cause?.originalCode === 'string' && RETRYABLE_SQLSTATES.has(cause.originalCode));
}
