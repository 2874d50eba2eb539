import { KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, webcrypto } from 'node:crypto';
import { ECPrivateKey } from '@peculiar/asn1-ecc';
import { AsnConvert } from '@peculiar/asn1-schema';
import { describe, expect, it } from 'vitest';
import { ShakenError } from './errors.js';
import {
  exportPrivateJwk,
  exportPrivateKeyPem,
  exportPublicJwk,
  generateP256KeyPair,
  importPrivateJwk,
  importPrivateKeyPem,
  importPublicJwk,
  importSpki,
  jwkThumbprint,
  publicKeysEqual,
  spkiDer,
  stiPaFingerprint,
} from './keys.js';

// A P-256 public key made with `openssl ecparam -genkey`; fingerprint from
// `openssl pkey -pubin -outform DER | openssl dgst -sha256 -c`, thumbprint computed by hand per RFC 7638.
const VECTOR_SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECKIS0PAW2wIvYy1fZ4wyvMkJUGTi
ogMNY3e/SXSmteMrGWUGhg8xn1/TjLYkZRMjK5AUAOw7p/y2uPoHvG/CWw==
-----END PUBLIC KEY-----`;
const VECTOR_FINGERPRINT =
  'SHA256 82:47:C1:19:2A:9E:37:9A:E7:07:58:BE:CF:9C:3A:48:6A:02:9E:18:B4:D9:A6:61:AF:69:53:1A:DD:C2:8A:16';
const VECTOR_JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'CKIS0PAW2wIvYy1fZ4wyvMkJUGTiogMNY3e_SXSmteM',
  y: 'KxllBoYPMZ9f04y2JGUTIyuQFADsO6f8trj6B7xvwls',
} as const;
const VECTOR_THUMBPRINT = 'jZMQHCgd_9hXwV3mXKrrSO4bMrKIi6gMKVZf00wHkO0';

const vectorSpki = () => new Uint8Array(createPublicKey(VECTOR_SPKI_PEM).export({ format: 'der', type: 'spki' }));

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ShakenError);
    return (error as ShakenError).code;
  }
  throw new Error('expected a ShakenError, the promise resolved');
}

/** Node's own signature check proves the imported pair is the key OpenSSL/Node made. */
async function signsFor(privateKey: webcrypto.CryptoKey, publicPem: string): Promise<boolean> {
  const data = new TextEncoder().encode('shaken');
  const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, data);
  return nodeVerify('sha256', data, { key: publicPem, dsaEncoding: 'ieee-p1363' }, new Uint8Array(signature));
}

describe('P-256 keys', () => {
  it('generates extractable and non-extractable ECDSA P-256 pairs', async () => {
    const pair = await generateP256KeyPair();
    expect(pair.privateKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(pair.privateKey.extractable).toBe(true);
    const locked = await generateP256KeyPair(false);
    expect(locked.privateKey.extractable).toBe(false);
    expect(await codeOf(exportPrivateKeyPem(locked.privateKey, 'sec1'))).toBe('KEY.NOT_EXTRACTABLE');
  });

  it('writes SEC1 exactly as OpenSSL/Node do (curve parameters and public key included)', async () => {
    const pair = await generateP256KeyPair();
    const ours = await exportPrivateKeyPem(pair.privateKey, 'sec1');
    expect(ours.startsWith('-----BEGIN EC PRIVATE KEY-----\n')).toBe(true);
    expect(ours).toBe(KeyObject.from(pair.privateKey).export({ format: 'pem', type: 'sec1' }));
    const parsed = AsnConvert.parse(createPrivateKey(ours).export({ format: 'der', type: 'sec1' }), ECPrivateKey);
    expect(parsed.parameters?.namedCurve).toBe('1.2.840.10045.3.1.7');
    expect(parsed.publicKey?.byteLength).toBe(65);
  });

  it('writes PKCS#8 that Node reads as the same key', async () => {
    const pair = await generateP256KeyPair();
    const pem = await exportPrivateKeyPem(pair.privateKey, 'pkcs8');
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    const nodeKey = createPrivateKey(pem);
    const spki = createPublicKey(nodeKey).export({ format: 'der', type: 'spki' });
    expect(await publicKeysEqual(pair.publicKey, new Uint8Array(spki))).toBe(true);
  });

  it.each(['sec1', 'pkcs8'] as const)('imports a %s key made by Node/OpenSSL and signs for it', async (type) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type }) as string;
    const publicPem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const pair = await importPrivateKeyPem(pem);
    expect(await signsFor(pair.privateKey, publicPem)).toBe(true);
    expect(await publicKeysEqual(pair.publicKey, new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })))).toBe(true);
    expect(await exportPrivateKeyPem(pair.privateKey, type)).toBe(pem);
  });

  it('imports a SEC1 key preceded by an EC PARAMETERS block (openssl ecparam -genkey)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const pair = await importPrivateKeyPem(params + (privateKey.export({ format: 'pem', type: 'sec1' }) as string));
    expect(await signsFor(pair.privateKey, publicKey.export({ format: 'pem', type: 'spki' }) as string)).toBe(true);
  });

  it('imports a SEC1 key that omits the optional public key and curve (RFC 5915)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const full = AsnConvert.parse(privateKey.export({ format: 'der', type: 'sec1' }), ECPrivateKey);
    const bare = new ECPrivateKey({ version: 1, privateKey: full.privateKey });
    const pem = `-----BEGIN EC PRIVATE KEY-----\n${Buffer.from(AsnConvert.serialize(bare)).toString('base64')}\n-----END EC PRIVATE KEY-----\n`;
    const pair = await importPrivateKeyPem(pem);
    expect(await signsFor(pair.privateKey, publicKey.export({ format: 'pem', type: 'spki' }) as string)).toBe(true);
    // Re-exported SEC1 carries what OpenSSL writes again.
    expect(await exportPrivateKeyPem(pair.privateKey, 'sec1')).toBe(privateKey.export({ format: 'pem', type: 'sec1' }));
  });

  it('imports non-extractable when asked', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pair = await importPrivateKeyPem(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, false);
    expect(pair.privateKey.extractable).toBe(false);
    expect(pair.publicKey.extractable).toBe(true);
  });

  it('round-trips JWK and rejects bad JWKs', async () => {
    const pair = await generateP256KeyPair();
    const privateJwk = await exportPrivateJwk(pair.privateKey);
    expect(Object.keys(privateJwk).sort()).toEqual(['crv', 'd', 'kty', 'x', 'y']);
    const again = await importPrivateJwk(privateJwk);
    expect(await publicKeysEqual(again.publicKey, pair.publicKey)).toBe(true);
    const publicJwk = await exportPublicJwk(pair.publicKey);
    expect(publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: privateJwk.x, y: privateJwk.y });
    expect(await publicKeysEqual(await importPublicJwk(publicJwk), pair.publicKey)).toBe(true);

    expect(await codeOf(importPublicJwk({ ...publicJwk, kty: 'RSA' } as never))).toBe('KEY.MALFORMED_JWK');
    expect(await codeOf(importPublicJwk({ ...publicJwk, crv: 'P-384' } as never))).toBe('KEY.UNSUPPORTED_CURVE');
    expect(await codeOf(importPublicJwk({ ...publicJwk, x: 'AAAA' }))).toBe('KEY.MALFORMED_JWK');
    // A valid-looking point that is not on the curve.
    expect(await codeOf(importPublicJwk({ ...publicJwk, y: publicJwk.x }))).toBe('KEY.MALFORMED_JWK');
    expect(await codeOf(importPrivateJwk({ ...privateJwk, d: 'AAAA' }))).toBe('KEY.MALFORMED_JWK');
  });

  it('matches the fingerprint OpenSSL computes over the DER SPKI, and the RFC 7638 thumbprint', async () => {
    expect(await stiPaFingerprint(vectorSpki())).toBe(VECTOR_FINGERPRINT);
    const key = await importSpki(vectorSpki());
    expect(await stiPaFingerprint(key)).toBe(VECTOR_FINGERPRINT);
    expect(await jwkThumbprint(key)).toBe(VECTOR_THUMBPRINT);
    expect(await exportPublicJwk(key)).toEqual(VECTOR_JWK);
    expect(await jwkThumbprint(await importPublicJwk(VECTOR_JWK))).toBe(VECTOR_THUMBPRINT);
    expect(Buffer.from(await spkiDer(key)).equals(Buffer.from(vectorSpki()))).toBe(true);
  });

  it('rejects a private key where a public key belongs', async () => {
    const pair = await generateP256KeyPair();
    expect(await codeOf(spkiDer(pair.privateKey))).toBe('KEY.WRONG_TYPE');
  });
});

describe('private key import errors', () => {
  const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).privateKey;

  it.each([
    ['no PEM at all', 'hello'],
    ['a certificate instead of a key', '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'],
    ['a body that is not base64', '-----BEGIN PRIVATE KEY-----\n@@@@\n-----END PRIVATE KEY-----\n'],
  ])('rejects %s as KEY.MALFORMED_PEM', async (_what, pem) => {
    expect(await codeOf(importPrivateKeyPem(pem))).toBe('KEY.MALFORMED_PEM');
  });

  it('rejects two keys in one PEM', async () => {
    const one = ec('P-256').export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(await codeOf(importPrivateKeyPem(one + one))).toBe('KEY.MALFORMED_PEM');
  });

  it('rejects encrypted keys (PKCS#8 and legacy SEC1) with KEY.ENCRYPTED, without echoing them', async () => {
    const key = ec('P-256');
    const pkcs8 = key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
    const sec1 = key.export({ format: 'pem', type: 'sec1', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
    for (const pem of [pkcs8, sec1]) {
      const error = await importPrivateKeyPem(pem).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShakenError);
      expect((error as ShakenError).code).toBe('KEY.ENCRYPTED');
      const longestLine = pem.split('\n').reduce((a, b) => (b.length > a.length ? b : a));
      expect((error as ShakenError).message).not.toContain(longestLine);
    }
  });

  it('rejects other curves and algorithms', async () => {
    for (const curve of ['P-384', 'secp256k1']) {
      const key = ec(curve);
      expect(await codeOf(importPrivateKeyPem(key.export({ format: 'pem', type: 'sec1' }) as string))).toBe('KEY.UNSUPPORTED_CURVE');
      expect(await codeOf(importPrivateKeyPem(key.export({ format: 'pem', type: 'pkcs8' }) as string))).toBe('KEY.UNSUPPORTED_CURVE');
    }
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(await codeOf(importPrivateKeyPem(ed))).toBe('KEY.UNSUPPORTED_ALGORITHM');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(await codeOf(importPrivateKeyPem(rsa))).toBe('KEY.UNSUPPORTED_ALGORITHM');
    const rsaSpki = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' });
    expect(await codeOf(importSpki(new Uint8Array(rsaSpki)))).toBe('KEY.UNSUPPORTED_ALGORITHM');
  });

  it('rejects DER that is not a key as KEY.MALFORMED', async () => {
    const pem = '-----BEGIN EC PRIVATE KEY-----\nMAMCAQE=\n-----END EC PRIVATE KEY-----\n';
    expect(await codeOf(importPrivateKeyPem(pem))).toBe('KEY.MALFORMED');
    expect(await codeOf(importSpki(new Uint8Array([0x30, 0x00])))).toBe('KEY.MALFORMED');
  });

  it('rejects a SEC1 key whose stored public key belongs to another key (KEY.INCONSISTENT)', async () => {
    const a = AsnConvert.parse(ec('P-256').export({ format: 'der', type: 'sec1' }), ECPrivateKey);
    const b = AsnConvert.parse(ec('P-256').export({ format: 'der', type: 'sec1' }), ECPrivateKey);
    const mixed = new ECPrivateKey({ version: 1, privateKey: a.privateKey, parameters: a.parameters, publicKey: b.publicKey });
    const pem = `-----BEGIN EC PRIVATE KEY-----\n${Buffer.from(AsnConvert.serialize(mixed)).toString('base64')}\n-----END EC PRIVATE KEY-----\n`;
    expect(await codeOf(importPrivateKeyPem(pem))).toBe('KEY.INCONSISTENT');
  });

  it('signing with Node over the imported key agrees with WebCrypto (sanity of the oracle)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('x');
    const signature = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const pair = await importPrivateKeyPem(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    expect(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pair.publicKey, signature, data)).toBe(true);
    expect(publicKey.asymmetricKeyType).toBe('ec');
  });
});
