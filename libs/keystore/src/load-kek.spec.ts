import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKeystoreError } from './errors.js';
import { Kek } from './kek.js';
import { Keystore } from './keystore.js';
import { loadKek } from './load-kek.js';

describe('loadKek', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clm-kek-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the key file with mode 0600 on first use and reuses it afterwards', async () => {
    const keyFile = join(dir, 'data', 'master.key');
    const first = await loadKek({ keyFile });
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Kek.parse(readFileSync(keyFile, 'utf8'), 'file').id).toBe(first.current.id);

    const second = await loadKek({ keyFile });
    expect(second.current.id).toBe(first.current.id);
    // Same key, not merely the same id: a blob sealed with the first opens with the second.
    const blob = new Keystore(first).seal(Buffer.from('x'), 'aad');
    expect(new Keystore(second).open(blob, 'aad').toString()).toBe('x');
  });

  it('creates one key when several processes start at once', async () => {
    const keyFile = join(dir, 'master.key');
    const rings = await Promise.all(Array.from({ length: 8 }, () => loadKek({ keyFile })));
    expect(new Set(rings.map((ring) => ring.current.id)).size).toBe(1);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('prefers the configured master key and then ignores the key file', async () => {
    const keyFile = join(dir, 'master.key');
    const masterKey = randomBytes(32).toString('base64');
    const ring = await loadKek({ masterKey, keyFile });
    expect(ring.current.id).toBe(Kek.parse(masterKey, 'x').id);
    expect(() => statSync(keyFile)).toThrow(/ENOENT/);
  });

  it('adds previous keys for opening, without duplicating the current one', async () => {
    const current = randomBytes(32).toString('hex');
    const old = randomBytes(32).toString('base64url');
    const ring = await loadKek({ masterKey: current, keyFile: join(dir, 'unused'), previous: [old, current] });
    expect(ring.previous.map((k) => k.id)).toEqual([Kek.parse(old, 'x').id]);
  });

  it('refuses a key file others can read', async () => {
    const keyFile = join(dir, 'master.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
    chmodSync(keyFile, 0o644);
    await expect(loadKek({ keyFile })).rejects.toSatisfy((e) => isKeystoreError(e, 'KEYSTORE.KEY_FILE_UNUSABLE') && /chmod 600/.test((e as Error).message));
  });

  it('refuses a key file that holds no 32-byte key, without printing its content', async () => {
    const keyFile = join(dir, 'master.key');
    writeFileSync(keyFile, 'short-secret-value\n', { mode: 0o600 });
    await expect(loadKek({ keyFile })).rejects.toSatisfy(
      (e) => isKeystoreError(e, 'KEYSTORE.KEY_FILE_UNUSABLE') && !(e as Error).message.includes('short-secret-value'),
    );
  });

  it('refuses a malformed master key, naming the setting and not the value', async () => {
    await expect(loadKek({ masterKey: 'abc123', keyFile: join(dir, 'k') })).rejects.toSatisfy(
      (e) => isKeystoreError(e, 'KEYSTORE.INVALID_KEK') && !(e as Error).message.includes('abc123'),
    );
  });
});
