import { isDbError, Prisma } from '@app/db';
import { isKeystoreError } from '@app/keystore';

export interface MappedError {
  status: number;
  code: string;
  detail: string;
  extensions?: Record<string, unknown>;
}

/**
 * Errors from our libraries and Prisma that can reach a handler without a feature translating
 * them. Their messages are safe by construction (the libraries never put secrets in them); each
 * keeps its stable code instead of collapsing into a generic 500.
 */
export function mapLibraryError(error: unknown): MappedError | undefined {
  if (isDbError(error, 'DB.TRANSACTION_CONFLICT')) {
    return { status: 503, code: error.code, detail: error.message, extensions: { retryable: true } };
  }
  if (isKeystoreError(error)) {
    // UNKNOWN_KEK: a blob sealed under a key-encryption key this instance was not given
    // (CLM_PREVIOUS_MASTER_KEYS missing after a rotation): a configuration conflict, not a bug.
    return { status: error.code === 'KEYSTORE.UNKNOWN_KEK' ? 409 : 500, code: error.code, detail: error.message };
  }
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    // Check-then-create races lose to a unique index: the caller should see a conflict, not a 500.
    if (error.code === 'P2002') {
      const target = (error.meta as { target?: unknown } | undefined)?.target;
      return { status: 409, code: 'CONFLICT.ALREADY_EXISTS', detail: 'a record with the same unique value was created concurrently', extensions: { fields: target } };
    }
    if (error.code === 'P2025') return { status: 404, code: 'HTTP.NOT_FOUND', detail: 'the record no longer exists' };
  }
  return undefined;
}
