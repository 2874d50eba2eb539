import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, mkdir, open, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { x5uFor } from '../public-base-url.js';
import { assertPublishableChain } from '../sti-cr-body.js';
import { assertSafeStiCrKey, type StiCrKey } from '../sti-cr-key.js';
import { cacheControlFor, type StiCrPutResult, type StiCrStore } from '../sti-cr-store.js';
import type { ResolvedFilesystemConfig } from '../sti-cr-store-config.js';
import { StorageError, StorageErrorCode } from '../storage-error.js';

// Published chains are public; the service user owns them and nobody else may write.
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/**
 * STI-CR chains as files: `<rootDir>/<SPC>/<fingerprint16>.pem`, served by the service
 * (`serveStiCr`) at `<publicBaseUrl>/<key>`.
 *
 * Writes are atomic and never overwrite: the bytes go to a hidden temp file in the target directory
 * (created with O_EXCL, fsynced, 0644), which is then hard-linked to the final name. link(2) fails
 * with EEXIST when the name exists, so a concurrent writer cannot replace published bytes (rename(2)
 * would), and readers see either no file or the whole file. Temp names start with "." and never
 * match the key grammar, so a crashed writer's leftovers are never served.
 */
export class FilesystemStiCrStore implements StiCrStore {
  readonly driver = 'filesystem' as const;
  readonly cacheMaxAgeSeconds: number;
  readonly cacheControl: string;

  constructor(private readonly config: ResolvedFilesystemConfig) {
    this.cacheMaxAgeSeconds = config.cacheMaxAgeSeconds;
    this.cacheControl = cacheControlFor(config.cacheMaxAgeSeconds);
  }

  urlFor(key: StiCrKey): string {
    return x5uFor(this.config.publicBaseUrl, assertSafeStiCrKey(key));
  }

  async putImmutable(key: StiCrKey, body: Uint8Array): Promise<StiCrPutResult> {
    const safeKey = assertSafeStiCrKey(key);
    assertPublishableChain(body);
    return this.publish(safeKey, body, true);
  }

  private async publish(safeKey: StiCrKey, body: Uint8Array, mayRetry: boolean): Promise<StiCrPutResult> {
    const url = this.urlFor(safeKey);
    const finalPath = this.pathOf(safeKey);
    const directory = dirname(finalPath);

    await this.io('create the directory for', safeKey, () => mkdir(directory, { recursive: true, mode: DIR_MODE }));
    const tempPath = join(directory, `.${randomUUID()}.tmp`);
    try {
      await this.io('write', safeKey, () => writeDurably(tempPath, body));
      const created = await this.io('publish', safeKey, async () => {
        try {
          await link(tempPath, finalPath);
          return true;
        } catch (error) {
          if (errno(error) === 'EEXIST') return false;
          throw error;
        }
      });
      if (created) {
        await this.io('sync the directory of', safeKey, () => syncDirectory(directory));
        return { url, created: true };
      }
    } finally {
      await rm(tempPath, { force: true }).catch(() => undefined);
    }

    const existing = await this.get(safeKey);
    // Deleted between our link attempt and the read (clean-up job): try once more.
    if (existing === null && mayRetry) return this.publish(safeKey, body, false);
    if (existing !== null && Buffer.from(existing).equals(body)) return { url, created: false };
    throw new StorageError(
      StorageErrorCode.IMMUTABLE_CONFLICT,
      `${safeKey} already holds different bytes; a published x5u is never rewritten`,
    );
  }

  async get(key: StiCrKey): Promise<Uint8Array | null> {
    const safeKey = assertSafeStiCrKey(key);
    return this.io('read', safeKey, async () => {
      let handle: FileHandle;
      try {
        // O_NOFOLLOW: a symlink planted in the store is refused, never followed out of rootDir.
        handle = await open(this.pathOf(safeKey), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        if (errno(error) === 'ENOENT') return null;
        throw error;
      }
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
        return new Uint8Array(await handle.readFile());
      } finally {
        await handle.close();
      }
    });
  }

  async delete(key: StiCrKey): Promise<void> {
    const safeKey = assertSafeStiCrKey(key);
    const path = this.pathOf(safeKey);
    await this.io('delete', safeKey, async () => {
      try {
        await unlink(path);
      } catch (error) {
        if (errno(error) === 'ENOENT') return;
        throw error;
      }
      await syncDirectory(dirname(path));
    });
  }

  /** Proves the root directory accepts a durable write, the way a publication would. */
  async healthCheck(): Promise<void> {
    const root = this.config.rootDir;
    const probe = join(root, `.health-${randomUUID()}.tmp`);
    await this.io('health-check', 'rootDir', async () => {
      await mkdir(root, { recursive: true, mode: DIR_MODE });
      try {
        await writeDurably(probe, new Uint8Array(0));
      } finally {
        await rm(probe, { force: true }).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {}

  private pathOf(key: StiCrKey): string {
    // Safe by construction: the key grammar has exactly one "/" and no "." segments.
    return join(this.config.rootDir, ...key.split('/'));
  }

  private async io<T>(operation: string, subject: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw toStorageError(operation, subject, error);
    }
  }
}

async function writeDurably(path: string, body: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', FILE_MODE);
  try {
    await handle.writeFile(body);
    // The process umask may have narrowed the mode given to open(2).
    await handle.chmod(FILE_MODE);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a new or removed directory entry durable (a crash after link/unlink keeps it). */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

function toStorageError(operation: string, subject: string, error: unknown): StorageError {
  const code = errno(error) ?? 'unknown error';
  const message = `filesystem STI-CR store could not ${operation} ${subject}: ${code}`;
  if (code === 'EACCES' || code === 'EPERM') return new StorageError(StorageErrorCode.ACCESS_DENIED, message);
  // ENOSPC, EROFS, EIO, ENOTDIR (root replaced by a file), ELOOP (symlink refused), ...
  return new StorageError(StorageErrorCode.UNAVAILABLE, message);
}
