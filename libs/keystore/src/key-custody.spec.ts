import { createPrivateKey, createPublicKey, randomBytes, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeystoreError } from './errors.js';
import { Kek } from './kek.js';
import { SoftwareKeyCustody } from './key-custody.js';
import { Keystore } from './keystore.js';

describe('SoftwareKeyCustody', () => {
  const keystore = new Keystore({ current: Kek.fromBytes(randomBytes(32)), previous: [] });
  const custody = new SoftwareKeyCustody(keystore);
  const aad = 'private_keys:7f3e0000-0000-4000-8000-000000000003';

  it('generates a sealed P-256 key whose ES256 signatures verify against its SPKI', async () => {
    const key = await custody.generateP256(aad);
    expect(key).toMatchObject({ custody: 'software', algorithm: 'ES256', kekId: keystore.currentKekId });
    const publicKey = createPublicKey({ key: key.publicKeySpki, format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

    const data = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJ0ZXN0Ijp0cnVlfQ');
    const signature = await custody.signEs256(key, aad, data);
    expect(signature).toHaveLength(64);
    expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(verify('sha256', Buffer.from('other'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(false);
  });

  it('exports the PKCS#8 for the signer hand-out, matching the stored public key', async () => {
    const key = await custody.generateP256(aad);
    const pkcs8 = await custody.exportPkcs8(key, aad);
    expect(Buffer.from(key.sealed!).includes(pkcs8)).toBe(false);
    const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    expect(spki.equals(key.publicKeySpki)).toBe(true);
    expect((await custody.publicKeySpki(key, aad)).equals(key.publicKeySpki)).toBe(true);
  });

  it('does not use a key under another record id', async () => {
    const key = await custody.generateP256(aad);
    await expect(custody.signEs256(key, 'private_keys:someone-else', Buffer.from('x'))).rejects.toSatisfy((e) =>
      isKeystoreError(e, 'KEYSTORE.OPEN_FAILED'),
    );
  });

  it('refuses keys that are not in software custody, or destroyed', async () => {
    await expect(custody.exportPkcs8({ custody: 'pkcs11', pkcs11Uri: 'pkcs11:object=k' }, aad)).rejects.toSatisfy((e) =>
      isKeystoreError(e, 'KEYSTORE.UNSUPPORTED'),
    );
    await expect(custody.signEs256({ custody: 'software', sealed: null }, aad, Buffer.from('x'))).rejects.toSatisfy((e) =>
      isKeystoreError(e, 'KEYSTORE.MALFORMED_BLOB'),
    );
  });
});
