import { randomBytes, X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PulledCredential } from './credential-client.js';

/**
 * The files a file-based signer reads (STIR-SHAKEN.md §8: Asterisk `private_key_file`, Kamailio and
 * OpenSIPS a key path and an x5u), kept in `dir`:
 *
 *   dir/key.pem   -> current/key.pem    the private key, PEM (SEC1 or PKCS#8), mode 0600
 *   dir/cert.pem  -> current/cert.pem   the certificate chain as served at x5u (leaf first)
 *   dir/x5u       -> current/x5u        the x5u URL, exactly, no newline
 *   dir/current   -> .clm-signer/v-…    the installed version (one symlink)
 *   dir/.clm-signer/v-…/                each version, complete, never changed after install
 *                        credential.json (OCN, certificate id, x5u, validity, ETag)
 *
 * An install writes a new version directory completely (each file written, fsynced, the directory
 * fsynced, then renamed into place), then replaces the `current` symlink by rename(2), which is
 * atomic. What a reader sees:
 * - opening dir/key.pem, dir/cert.pem or dir/x5u always yields a complete file of one version,
 *   old or new, never a partial one;
 * - two files opened one after the other may come from different versions if an install happens
 *   in between. A reader that needs a matching key and certificate resolves `dir/current` once
 *   (readlink or realpath) and reads both from that directory: it is complete and stays there
 *   until the install after next (the previous version is kept for such readers).
 * - the --exec command runs after the swap, so a signer reloaded by it reads the new set.
 */
export const VERSIONS_DIR = '.clm-signer';
const LINKS = ['key.pem', 'cert.pem', 'x5u'] as const;

export interface InstalledCredential {
  readonly ocn: string;
  readonly certificateId: string;
  readonly x5u: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly etag: string;
  readonly keyFormat: string;
  readonly installedAt: string;
}

/** What is installed in `dir` now, or undefined (nothing yet, or not ours). */
export async function readInstalled(dir: string): Promise<InstalledCredential | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'current', 'credential.json'), 'utf8')) as InstalledCredential;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a credential whose key is not the certificate's (STIR-SHAKEN.md §9.3: a key/certificate
 * mismatch after rotation is a known failure) before it reaches the signer's files.
 */
export function checkCredential(credential: PulledCredential): void {
  const leaf = new X509Certificate(credential.certificateChainPem);
  const fromKey = createPublicKey(createPrivateKey(credential.privateKeyPem)).export({ format: 'der', type: 'spki' });
  const fromCertificate = leaf.publicKey.export({ format: 'der', type: 'spki' });
  if (!fromKey.equals(fromCertificate)) throw new Error(`the key handed out for certificate ${credential.certificateId} is not its certificate's key; nothing installed`);
  if (!/^https:\/\//.test(credential.x5u)) throw new Error(`the x5u ${credential.x5u} is not an https URL; nothing installed`);
}

/** Installs `credential` in `dir` as described above; returns the new version's directory. */
export async function installCredential(dir: string, credential: PulledCredential, etag: string): Promise<string> {
  const versions = join(dir, VERSIONS_DIR);
  await mkdir(versions, { recursive: true, mode: 0o755 });
  const incoming = await mkdtemp(join(versions, '.incoming-'));
  try {
    await writeDurably(join(incoming, 'key.pem'), credential.privateKeyPem, 0o600);
    await writeDurably(join(incoming, 'cert.pem'), credential.certificateChainPem, 0o644);
    await writeDurably(join(incoming, 'x5u'), credential.x5u, 0o644);
    const installed: InstalledCredential = {
      ocn: credential.ocn,
      certificateId: credential.certificateId,
      x5u: credential.x5u,
      notBefore: credential.notBefore,
      notAfter: credential.notAfter,
      etag,
      keyFormat: credential.keyFormat,
      installedAt: new Date().toISOString(),
    };
    await writeDurably(join(incoming, 'credential.json'), `${JSON.stringify(installed, null, 2)}\n`, 0o644);
    await syncDirectory(incoming);
    const name = `v-${Date.now().toString(36)}-${credential.certificateId.slice(0, 8)}-${randomBytes(3).toString('hex')}`;
    await rename(incoming, join(versions, name));
    await syncDirectory(versions);
    await replaceSymlink(dir, 'current', join(VERSIONS_DIR, name));
    for (const link of LINKS) {
      const target = join('current', link);
      const existing = await readlink(join(dir, link)).catch(() => undefined);
      if (existing !== target) await replaceSymlink(dir, link, target);
    }
    await syncDirectory(dir);
    await removeOldVersions(versions, name);
    return join(versions, name);
  } catch (error) {
    await rm(incoming, { recursive: true, force: true });
    throw error;
  }
}

async function writeDurably(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(content, 'utf8');
    // The umask must not widen or narrow what was asked for (0600 for the key).
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `dir/name` becomes a symlink to `target` in one rename: never absent, never half made. */
async function replaceSymlink(dir: string, name: string, target: string): Promise<void> {
  const temporary = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
  await symlink(target, temporary);
  try {
    await rename(temporary, join(dir, name));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Keeps the current version and the one before it (a reader may still be reading it). */
async function removeOldVersions(versions: string, current: string): Promise<void> {
  const entries = (await readdir(versions)).filter((name) => name.startsWith('v-') && name !== current);
  const dated = await Promise.all(entries.map(async (name) => ({ name, mtime: (await lstat(join(versions, name))).mtimeMs })));
  dated.sort((a, b) => b.mtime - a.mtime || b.name.localeCompare(a.name));
  for (const { name } of dated.slice(1)) await rm(join(versions, name), { recursive: true, force: true });
  for (const name of await readdir(versions)) {
    if (name.startsWith('.incoming-')) await rm(join(versions, name), { recursive: true, force: true });
  }
}
