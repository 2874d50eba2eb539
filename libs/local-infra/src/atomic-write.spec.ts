import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write.js';

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-write-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes text or bytes with the given mode, creating a missing directory owner-only', async () => {
    const dir = scratch();
    const path = join(dir, 'nested', 'deeper', 'key.pem');
    await writeFileAtomic(path, 'secret\n');
    expect(readFileSync(path, 'utf8')).toBe('secret\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested', 'deeper')).mode & 0o777).toBe(0o700);

    const bytes = join(dir, 'root.der');
    await writeFileAtomic(bytes, new Uint8Array([0, 1, 254, 255]), 0o644);
    expect([...readFileSync(bytes)]).toEqual([0, 1, 254, 255]);
    expect(statSync(bytes).mode & 0o777).toBe(0o644);
  });

  it('replaces an existing file whole and leaves no temp file behind', async () => {
    const dir = scratch();
    const path = join(dir, 'state.json');
    writeFileSync(path, 'old content that is longer than the new one');
    await writeFileAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('fails without touching the target or leaving a temp file when the rename cannot happen', async () => {
    const dir = scratch();
    const path = join(dir, 'occupied');
    // A non-empty directory where the file should go: rename(2) refuses (EISDIR/ENOTEMPTY).
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'x');
    await expect(writeFileAtomic(path, 'content')).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(readdirSync(dir)).toEqual(['occupied']);
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('x');
  });
});
