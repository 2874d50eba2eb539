import { readFile } from 'node:fs/promises';

// The sandbox's state, keys and certificates are written whole (temp file, fsync, rename, fsync dir).
export { writeFileAtomic } from '@app/local-infra';

/** The file's text, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
