import { createHash, createHmac, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isAcmeError } from './errors.js';
import { assertP256KeyPair, exportPublicJwk, jwkThumbprint, signEs256, signExternalAccountBinding } from './jws.js';

const subtle = webcrypto.subtle;
const p256 = (): Promise<webcrypto.CryptoKeyPair> =>
  subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const decode = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

describe('ES256 JWS for ACME requests', () => {
  it('produces a flattened JWS whose raw R||S signature verifies with WebCrypto', async () => {
    const keys = await p256();
    const jwk = await exportPublicJwk(keys.publicKey, subtle);
    const header = { alg: 'ES256', nonce: 'bm9uY2U', url: 'https://ca.example/new-acct', jwk } as const;
    const jws = await signEs256(header, { termsOfServiceAgreed: true }, keys.privateKey, subtle);

    expect(Object.keys(jws).sort()).toEqual(['payload', 'protected', 'signature']);
    expect(decode(jws.protected)).toEqual(header);
    expect(decode(jws.payload)).toEqual({ termsOfServiceAgreed: true });
    const signature = Buffer.from(jws.signature, 'base64url');
    // RFC 7518 §3.4: 32-byte R then 32-byte S, not a DER SEQUENCE.
    expect(signature).toHaveLength(64);
    const signingInput = Buffer.from(`${jws.protected}.${jws.payload}`);
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys.publicKey, signature, signingInput)).toBe(true);
    // A different payload must not verify with the same signature.
    const tampered = Buffer.from(`${jws.protected}.${Buffer.from('{}').toString('base64url')}`);
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys.publicKey, signature, tampered)).toBe(false);
  });

  it('uses the empty string as payload for POST-as-GET (RFC 8555 §6.3)', async () => {
    const keys = await p256();
    const jws = await signEs256({ alg: 'ES256', nonce: 'bg', url: 'https://ca.example/order/1', kid: 'https://ca.example/acct/1' }, undefined, keys.privateKey, subtle);
    expect(jws.payload).toBe('');
    expect(decode(jws.protected)).toEqual({ alg: 'ES256', nonce: 'bg', url: 'https://ca.example/order/1', kid: 'https://ca.example/acct/1' });
  });

  it('exports only kty, crv, x, y and computes the RFC 7638 thumbprint over them', async () => {
    const keys = await p256();
    const jwk = await exportPublicJwk(keys.publicKey, subtle);
    expect(Object.keys(jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const full = await subtle.exportKey('jwk', keys.publicKey);
    expect(jwk).toEqual({ kty: 'EC', crv: 'P-256', x: full.x, y: full.y });
    // Independent construction: sorted-member JSON of Node's own JWK export.
    const canonical = JSON.stringify({ crv: full.crv, kty: full.kty, x: full.x, y: full.y });
    expect(await jwkThumbprint(jwk)).toBe(createHash('sha256').update(canonical).digest('base64url'));
  });

  it('refuses keys that cannot make ES256 signatures', async () => {
    const p384 = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
    const rsa = await subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    );
    const verifyOnly = await p256();
    const swapped = { publicKey: verifyOnly.privateKey, privateKey: verifyOnly.publicKey };
    for (const pair of [p384, rsa, swapped]) {
      let caught: unknown;
      try {
        assertP256KeyPair(pair as webcrypto.CryptoKeyPair, 'ACME account key');
      } catch (error) {
        caught = error;
      }
      expect(isAcmeError(caught, 'ACME.BAD_ACCOUNT_KEY')).toBe(true);
    }
    expect(() => assertP256KeyPair(verifyOnly, 'ACME account key')).not.toThrow();
  });
});

describe('External Account Binding (RFC 8555 §7.3.4)', () => {
  const hmacKey = Buffer.from('a 32 byte MAC key from the STI-CA').toString('base64url');

  it('MACs the account JWK with HS256 under {alg, kid, url} and no nonce', async () => {
    const jwk = await exportPublicJwk((await p256()).publicKey, subtle);
    const eab = await signExternalAccountBinding({ kid: 'kid-1', hmacKey }, 'https://ca.example/new-acct', jwk, subtle);

    expect(decode(eab.protected)).toEqual({ alg: 'HS256', kid: 'kid-1', url: 'https://ca.example/new-acct' });
    expect(decode(eab.payload)).toEqual(jwk);
    const expected = createHmac('sha256', Buffer.from(hmacKey, 'base64url')).update(`${eab.protected}.${eab.payload}`).digest('base64url');
    expect(eab.signature).toBe(expected);
  });

  it('supports HS512 and tolerates base64url padding on the key', async () => {
    const jwk = await exportPublicJwk((await p256()).publicKey, subtle);
    const padded = Buffer.from('0123456789abcdef0').toString('base64url') + '==';
    const eab = await signExternalAccountBinding({ kid: 'k', hmacKey: padded, alg: 'HS512' }, 'https://ca.example/na', jwk, subtle);
    const expected = createHmac('sha512', Buffer.from('0123456789abcdef0')).update(`${eab.protected}.${eab.payload}`).digest('base64url');
    expect(eab.signature).toBe(expected);
  });

  it('rejects a key that is not base64url without echoing it', async () => {
    const jwk = await exportPublicJwk((await p256()).publicKey, subtle);
    const badKey = 'not/base64url+secret';
    const error = await signExternalAccountBinding({ kid: 'kid-9', hmacKey: badKey }, 'https://ca.example/na', jwk, subtle).catch((e: unknown) => e);
    expect(isAcmeError(error, 'ACME.INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toContain('kid-9');
    expect((error as Error).message).not.toContain(badKey);
  });
});
