import { sign as nodeSign, verify as nodeVerify, KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ShakenError } from './errors.js';
import {
  type Es256Signer,
  type JsonObject,
  canonicalJson,
  parseCompactJws,
  signCompactJws,
  verifyCompactJwsSignature,
} from './jws.js';
import { exportPrivateKeyPem, generateP256KeyPair, importPublicJwk, spkiDer } from './keys.js';

// RFC 7515 Appendix A.3: an ES256 JWS and its key, signed by someone else.
const RFC7515_A3_TOKEN =
  'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';
const RFC7515_A3_JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
} as const;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ShakenError);
    return (error as ShakenError).code;
  }
  throw new Error('expected a ShakenError');
}

async function asyncCodeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShakenError);
  return (error as ShakenError).code;
}

describe('canonical JSON (RFC 8225 §9)', () => {
  it('sorts members lexicographically at every level and drops whitespace', () => {
    const claims: JsonObject = { orig: { tn: '12155551212' }, iat: 1443208345, dest: { uri: ['sip:alice@example.com'] } };
    // The serialization RFC 8225 §9 gives for this example.
    expect(canonicalJson(claims)).toBe('{"dest":{"uri":["sip:alice@example.com"]},"iat":1443208345,"orig":{"tn":"12155551212"}}');
  });

  it('keeps array order, escapes strings as JSON does, omits undefined members', () => {
    expect(canonicalJson({ b: [3, 1, 2], a: 'x"\n\u00e9' })).toBe('{"a":"x\\"\\né","b":[3,1,2]}');
    expect(canonicalJson({ b: 1, a: undefined } as unknown as JsonObject)).toBe('{"b":1}');
  });

  it('refuses NaN and Infinity', () => {
    expect(codeOf(() => canonicalJson({ n: Number.NaN }))).toBe('JWS.INVALID_JSON');
    expect(codeOf(() => canonicalJson([Number.POSITIVE_INFINITY]))).toBe('JWS.INVALID_JSON');
  });
});

describe('compact JWS ES256', () => {
  it('verifies the RFC 7515 A.3 example', async () => {
    const parsed = parseCompactJws(RFC7515_A3_TOKEN);
    expect(parsed.header).toEqual({ alg: 'ES256' });
    expect(parsed.payload).toEqual({ iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true });
    expect(await verifyCompactJwsSignature(parsed, await importPublicJwk(RFC7515_A3_JWK))).toBe(true);
  });

  it('signs with a raw 64-byte R||S that Node verifies independently', async () => {
    const { privateKey, publicKey } = await generateP256KeyPair();
    const token = await signCompactJws({ typ: 'JWT', x5u: 'https://cr.example/c.pem' }, { jti: 'x', exp: 1 }, privateKey);
    const [h, p, s] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT', x5u: 'https://cr.example/c.pem' });
    expect(Buffer.from(h, 'base64url').toString()).toBe('{"alg":"ES256","typ":"JWT","x5u":"https://cr.example/c.pem"}');
    const signature = Buffer.from(s, 'base64url');
    expect(signature.byteLength).toBe(64);
    const nodeKey = { key: KeyObject.from(publicKey), dsaEncoding: 'ieee-p1363' as const };
    expect(nodeVerify('sha256', Buffer.from(`${h}.${p}`), nodeKey, signature)).toBe(true);

    const parsed = parseCompactJws(token);
    expect(await verifyCompactJwsSignature(parsed, publicKey)).toBe(true);
    expect(await verifyCompactJwsSignature(parsed, await spkiDer(publicKey))).toBe(true);
  });

  it('rejects a signature by another key, a changed payload, and a DER signature', async () => {
    const { privateKey, publicKey } = await generateP256KeyPair();
    const other = await generateP256KeyPair();
    const token = await signCompactJws({}, { n: 1 }, privateKey);
    expect(await verifyCompactJwsSignature(parseCompactJws(token), other.publicKey)).toBe(false);

    const [h, , s] = token.split('.') as [string, string, string];
    const changed = `${h}.${Buffer.from('{"n":2}').toString('base64url')}.${s}`;
    expect(await verifyCompactJwsSignature(parseCompactJws(changed), publicKey)).toBe(false);

    const der = nodeSign('sha256', Buffer.from(token.split('.').slice(0, 2).join('.')), {
      key: KeyObject.from(privateKey),
      dsaEncoding: 'der',
    });
    const derToken = `${token.split('.').slice(0, 2).join('.')}.${der.toString('base64url')}`;
    expect(await verifyCompactJwsSignature(parseCompactJws(derToken), publicKey)).toBe(false);
  });

  it('signs through an external ES256 signer and checks what it returns', async () => {
    const { privateKey, publicKey } = await generateP256KeyPair();
    const pem = await exportPrivateKeyPem(privateKey);
    const hsm: Es256Signer = { sign: async (data) => nodeSign('sha256', data, { key: pem, dsaEncoding: 'ieee-p1363' }) };
    const token = await signCompactJws({ typ: 'JWT' }, { a: 1 }, hsm);
    expect(await verifyCompactJwsSignature(parseCompactJws(token), publicKey)).toBe(true);

    const broken: Es256Signer = { sign: async (data) => nodeSign('sha256', data, { key: pem, dsaEncoding: 'der' }) };
    expect(await asyncCodeOf(signCompactJws({}, { a: 1 }, broken))).toBe('JWS.SIGNER_FAILED');
  });

  it('refuses algorithms other than ES256 when signing and verifying', async () => {
    const { privateKey, publicKey } = await generateP256KeyPair();
    expect(await asyncCodeOf(signCompactJws({ alg: 'HS256' }, {}, privateKey))).toBe('JWS.UNSUPPORTED_ALG');
    expect(await asyncCodeOf(signCompactJws({}, {}, publicKey))).toBe('JWS.UNSUPPORTED_KEY');
    const token = await signCompactJws({}, { a: 1 }, privateKey);
    const [, p, s] = token.split('.') as [string, string, string];
    for (const alg of ['none', 'HS256', 'ES384']) {
      const forged = `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${p}.${s}`;
      expect(await asyncCodeOf(verifyCompactJwsSignature(parseCompactJws(forged), publicKey))).toBe('JWS.UNSUPPORTED_ALG');
    }
  });

  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  it.each([
    ['two parts', `${b64('{}')}.${b64('{}')}`],
    ['four parts', `${b64('{}')}.${b64('{}')}.AAAA.AAAA`],
    ['a header that is not base64url', `e+J9.${b64('{}')}.AAAA`],
    ['an empty header', `.${b64('{}')}.AAAA`],
    ['a header that is not JSON', `${b64('{alg')}.${b64('{}')}.AAAA`],
    ['a header that is a JSON array', `${b64('[1]')}.${b64('{}')}.AAAA`],
    ['a payload that is a JSON string', `${b64('{}')}.${b64('"x"')}.AAAA`],
    ['a payload that is not UTF-8', `${b64('{}')}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.AAAA`],
    ['an empty signature', `${b64('{}')}.${b64('{}')}.`],
    ['a signature with padding', `${b64('{}')}.${b64('{}')}.AAAA==`],
    ['a token over 1 MB', `${b64('{}')}.${'A'.repeat(1_000_001)}.AAAA`],
  ])('rejects %s as JWS.MALFORMED', (_what, token) => {
    expect(codeOf(() => parseCompactJws(token))).toBe('JWS.MALFORMED');
  });

  it('does not put the token into error messages', () => {
    const secret = b64('{"atc":"secret-token-material"}');
    let error: unknown;
    try {
      parseCompactJws(`${b64('{}')}.${secret}`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ShakenError);
    expect((error as Error).message).not.toContain(secret);
  });
});
