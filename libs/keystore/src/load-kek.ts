import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeystoreError } from './errors.js';
import { Kek, type KekRing } from './kek.js';

export interface LoadKekOptions {
  /** The master key from configuration (CLM_MASTER_KEY): 64 hex digits or base64 of 32 bytes. */
  readonly masterKey?: string;
  /** Used when no masterKey is given: read if present, otherwise generated (mode 0600). */
  readonly keyFile: string;
  /** Older master keys, still accepted for opening and rewrapping after a rotation. */
  readonly previous?: readonly string[];
}

/**
 * The KEK ring: the configured master key when given, else the key file's, which is created on
 * first use; plus any previous keys.
 */
export async function loadKek(options: LoadKekOptions): Promise<KekRing> {
  const current = options.masterKey !== undefined ? Kek.parse(options.masterKey, 'the master key') : await keyFromFile(options.keyFile);
  const previous = (options.previous ?? []).map((text, index) => Kek.parse(text, `previous master key #${index + 1}`)).filter((kek) => kek.id !== current.id);
  return { current, previous };
}

async function keyFromFile(path: string): Promise<Kek> {
  const existing = await readKeyFile(path);
  if (existing) return existing;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written in full to a private temporary file, then linked into place: link() fails if the
  // name exists, so two processes starting together cannot both create a key, and a reader never
  // sees a half-written file. The loser reads the winner's key.
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${randomBytes(32).toString('base64')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw keyFileError(path, 'could not be created', error);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const created = await readKeyFile(path);
  if (!created) throw keyFileError(path, 'vanished right after it was created');
  return created;
}

async function readKeyFile(path: string): Promise<Kek | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw keyFileError(path, 'cannot be read', error);
  }
  if (!info.isFile()) throw keyFileError(path, 'is not a regular file');
  // Like ssh with private keys: a key others can read is refused rather than silently used.
  if ((info.mode & 0o077) !== 0) {
    throw keyFileError(path, `is accessible to group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw keyFileError(path, 'cannot be read', error);
  });
  try {
    return Kek.parse(text, `key file ${path}`);
  } catch {
    throw keyFileError(path, 'does not hold a 32-byte key in base64 or hex');
  }
}

function keyFileError(path: string, problem: string, cause?: unknown): KeystoreError {
  return new KeystoreError('KEYSTORE.KEY_FILE_UNUSABLE', `key file ${path} ${problem}`, cause === undefined ? undefined : { cause });
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}
