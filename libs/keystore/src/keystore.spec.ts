import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isKeystoreError, type KeystoreErrorCode } from './errors.js';
import { Kek } from './kek.js';
import { Keystore } from './keystore.js';

const newKek = () => Kek.fromBytes(randomBytes(32));
const keystoreWith = (current: Kek, previous: Kek[] = []) => new Keystore({ current, previous });

function expectKeystoreError(fn: () => unknown, code: KeystoreErrorCode): Error {
  try {
    fn();
  } catch (error) {
    expect(isKeystoreError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
    return error as Error;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('Keystore', () => {
  const secret = Buffer.from('sti-pa password: correct horse battery staple', 'utf8');
  const aad = 'sti_pa_accounts.password:9b0f1c2e-0000-4000-8000-000000000001';

  it('round-trips, and the sealed blob does not contain the plaintext', () => {
    const keystore = keystoreWith(newKek());
    const blob = keystore.seal(secret, aad);
    expect(blob.includes(secret)).toBe(false);
    expect(blob.includes(Buffer.from('correct horse'))).toBe(false);
    expect(blob.toString('latin1')).not.toContain('correct horse');
    expect(keystore.open(blob, aad).equals(secret)).toBe(true);
  });

  it('seals the same plaintext differently each time (fresh IV)', () => {
    const keystore = keystoreWith(newKek());
    expect(keystore.seal(secret, aad).equals(keystore.seal(secret, aad))).toBe(false);
  });

  it('names the KEK in the blob', () => {
    const kek = newKek();
    const keystore = keystoreWith(kek);
    expect(kek.id).toMatch(/^[0-9a-f]{16}$/);
    expect(keystore.currentKekId).toBe(kek.id);
    expect(keystore.kekIdOf(keystore.seal(secret, aad))).toBe(kek.id);
  });

  it('fails to open under another KEK', () => {
    const blob = keystoreWith(newKek()).seal(secret, aad);
    const other = keystoreWith(newKek());
    const error = expectKeystoreError(() => other.open(blob, aad), 'KEYSTORE.UNKNOWN_KEK');
    expect(error.message).not.toContain('correct horse');
  });

  it('fails authentication when the header is rewritten to name another KEK', () => {
    const sealer = newKek();
    const impostor = newKek();
    const blob = keystoreWith(sealer).seal(secret, aad);
    Buffer.from(impostor.id, 'hex').copy(blob, 5);
    expect(keystoreWith(impostor).kekIdOf(blob)).toBe(impostor.id);
    expectKeystoreError(() => keystoreWith(impostor).open(blob, aad), 'KEYSTORE.OPEN_FAILED');
  });

  it('detects tampering anywhere in the IV, tag or ciphertext', () => {
    const keystore = keystoreWith(newKek());
    const blob = keystore.seal(secret, aad);
    for (let offset = 13; offset < blob.length; offset += 7) {
      const tampered = Buffer.from(blob);
      tampered[offset]! ^= 0x01;
      const error = expectKeystoreError(() => keystore.open(tampered, aad), 'KEYSTORE.OPEN_FAILED');
      expect(error.message).not.toContain('correct horse');
      expect((error as Error & { cause?: unknown }).cause).toBeUndefined();
    }
  });

  it('refuses a truncated ciphertext', () => {
    const keystore = keystoreWith(newKek());
    const blob = keystore.seal(secret, aad);
    expectKeystoreError(() => keystore.open(blob.subarray(0, blob.length - 1), aad), 'KEYSTORE.OPEN_FAILED');
  });

  it('binds a blob to its record and purpose (AAD): it does not open for another', () => {
    const keystore = keystoreWith(newKek());
    const blob = keystore.seal(secret, aad);
    expectKeystoreError(() => keystore.open(blob, 'sti_pa_accounts.password:another-record'), 'KEYSTORE.OPEN_FAILED');
    expectKeystoreError(() => keystore.open(blob, 'webhooks.secret:9b0f1c2e-0000-4000-8000-000000000001'), 'KEYSTORE.OPEN_FAILED');
  });

  it('refuses what is not a sealed blob, or of an unknown version', () => {
    const keystore = keystoreWith(newKek());
    expectKeystoreError(() => keystore.open(Buffer.from('plain text, not sealed at all, long enough'), aad), 'KEYSTORE.MALFORMED_BLOB');
    expectKeystoreError(() => keystore.open(Buffer.alloc(3), aad), 'KEYSTORE.MALFORMED_BLOB');
    const future = keystore.seal(secret, aad);
    future[4] = 2;
    expectKeystoreError(() => keystore.open(future, aad), 'KEYSTORE.MALFORMED_BLOB');
  });

  it('rewraps a blob from a previous KEK onto the current one', () => {
    const oldKek = newKek();
    const newCurrent = newKek();
    const oldBlob = keystoreWith(oldKek).seal(secret, aad);

    const rotated = keystoreWith(newCurrent, [oldKek]);
    expect(rotated.needsRewrap(oldBlob)).toBe(true);
    expect(rotated.open(oldBlob, aad).equals(secret)).toBe(true);

    const rewrapped = rotated.rewrap(oldBlob, aad);
    expect(rotated.kekIdOf(rewrapped)).toBe(newCurrent.id);
    expect(rotated.needsRewrap(rewrapped)).toBe(false);
    // Once the old KEK is retired, only the rewrapped blob still opens.
    const retired = keystoreWith(newCurrent);
    expect(retired.open(rewrapped, aad).equals(secret)).toBe(true);
    expectKeystoreError(() => retired.open(oldBlob, aad), 'KEYSTORE.UNKNOWN_KEK');
  });

  it('rewrap keeps the AAD binding', () => {
    const oldKek = newKek();
    const rotated = keystoreWith(newKek(), [oldKek]);
    const oldBlob = keystoreWith(oldKek).seal(secret, aad);
    expectKeystoreError(() => rotated.rewrap(oldBlob, 'other-record'), 'KEYSTORE.OPEN_FAILED');
  });

  describe('PKCS#8 private keys', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    const keyAad = 'private_keys:5d1c0000-0000-4000-8000-000000000002';

    it('seals and opens a PKCS#8 key; the blob does not contain the key', () => {
      const keystore = keystoreWith(newKek());
      const blob = keystore.sealPrivateKey(pkcs8, keyAad);
      expect(blob.includes(pkcs8)).toBe(false);
      const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
      expect(pkcs8.includes(scalar)).toBe(true);
      expect(blob.includes(scalar)).toBe(false);
      expect(keystore.openPrivateKeyDer(blob, keyAad).equals(pkcs8)).toBe(true);
      const opened = keystore.openPrivateKey(blob, keyAad);
      expect(opened.type).toBe('private');
      expect(opened.export({ format: 'der', type: 'pkcs8' }).equals(pkcs8)).toBe(true);
    });

    it('keeps private-key blobs and other secrets apart even under the same AAD', () => {
      const keystore = keystoreWith(newKek());
      const keyBlob = keystore.sealPrivateKey(pkcs8, keyAad);
      expectKeystoreError(() => keystore.open(keyBlob, keyAad), 'KEYSTORE.OPEN_FAILED');
      const plainBlob = keystore.seal(pkcs8, keyAad);
      expectKeystoreError(() => keystore.openPrivateKey(plainBlob, keyAad), 'KEYSTORE.OPEN_FAILED');
    });

    it('refuses to seal bytes that are not PKCS#8', () => {
      const keystore = keystoreWith(newKek());
      const sec1 = privateKey.export({ format: 'der', type: 'sec1' });
      expectKeystoreError(() => keystore.sealPrivateKey(sec1, keyAad), 'KEYSTORE.INVALID_PRIVATE_KEY');
      expectKeystoreError(() => keystore.sealPrivateKey(randomBytes(100), keyAad), 'KEYSTORE.INVALID_PRIVATE_KEY');
    });

    it('rewraps a private key', () => {
      const oldKek = newKek();
      const blob = keystoreWith(oldKek).sealPrivateKey(pkcs8, keyAad);
      const current = newKek();
      const rewrapped = keystoreWith(current, [oldKek]).rewrapPrivateKey(blob, keyAad);
      expect(keystoreWith(current).kekIdOf(rewrapped)).toBe(current.id);
      expect(keystoreWith(current).openPrivateKeyDer(rewrapped, keyAad).equals(pkcs8)).toBe(true);
    });
  });
});

describe('Kek', () => {
  it('parses 64 hex digits, base64 and base64url of the same 32 bytes to the same id', () => {
    const bytes = randomBytes(32);
    const ids = [bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64'), bytes.toString('base64url')].map(
      (text) => Kek.parse(text, 'CLM_MASTER_KEY').id,
    );
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toBe(Kek.fromBytes(bytes).id);
  });

  it('refuses keys of the wrong size without echoing them', () => {
    for (const bad of ['00'.repeat(31), randomBytes(16).toString('base64'), 'not a key', '']) {
      try {
        Kek.parse(bad, 'CLM_MASTER_KEY');
        throw new Error('accepted');
      } catch (error) {
        expect(isKeystoreError(error, 'KEYSTORE.INVALID_KEK')).toBe(true);
        expect((error as Error).message).toContain('CLM_MASTER_KEY');
        if (bad.length > 0) expect((error as Error).message).not.toContain(bad);
      }
    }
    expect(() => Kek.fromBytes(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('never shows its key when logged, inspected or serialised', () => {
    const bytes = randomBytes(32);
    const kek = Kek.fromBytes(bytes);
    for (const shown of [inspect(kek), JSON.stringify(kek), String(kek), inspect({ kek }, { depth: 5, showHidden: true })]) {
      expect(shown).toContain(kek.id);
      expect(shown).not.toContain(bytes.toString('hex'));
      expect(shown).not.toContain(bytes.toString('base64'));
    }
  });
});
