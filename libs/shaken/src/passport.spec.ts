import 'reflect-metadata';
import { KeyObject, verify as nodeVerify } from 'node:crypto';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, X509CertificateGenerator } from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestPki, DAY_MS, STI_PA_CRL_ISSUER_DN, type TestPki } from './testing/pki.js';
import { certificateChainToPem } from './certificate.js';
import { ShakenError } from './errors.js';
import { createCaCertificate, createCrl, issueEndEntityCertificate } from './issuance.js';
import { signCompactJws } from './jws.js';
import { generateP256KeyPair } from './keys.js';
import {
  type CreatePassportParams,
  type PassportVerification,
  createPassport,
  identityHeader,
  parseIdentityHeader,
  parsePassport,
  verifyPassport,
} from './passport.js';
import { TnAuthListExtension } from './tn-auth-list.js';

const X5U = 'https://cr.example.com/sti/818H/1.pem';
const ORIGID = '123e4567-e89b-12d3-a456-426655440000';

let pki: TestPki;
let other: TestPki;
beforeAll(async () => {
  [pki, other] = await Promise.all([buildTestPki(), buildTestPki()]);
});

const iatNow = () => Math.floor(pki.now.getTime() / 1000);
const params = (overrides: Partial<CreatePassportParams> = {}): CreatePassportParams => ({
  attest: 'A',
  orig: '12155551212',
  dest: '12355551212',
  origid: ORIGID,
  iat: iatNow(),
  x5u: X5U,
  ...overrides,
});
const options = (overrides: Partial<PassportVerification> = {}): PassportVerification => ({
  fetchChain: async (url) => {
    expect(url).toBe(X5U);
    return certificateChainToPem([pki.leaf, pki.intermediate]);
  },
  trustAnchors: [pki.root],
  now: pki.now,
  ...overrides,
});

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  const error = await (typeof promise === 'function' ? Promise.resolve().then(promise) : promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShakenError);
  return (error as ShakenError).code;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
async function handMade(header: unknown, payload: unknown) {
  const signature = (await signCompactJws({}, { x: 1 }, pki.leafKeys.privateKey)).split('.')[2];
  return `${b64(header)}.${b64(payload)}.${signature}`;
}
const goodHeader = { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: X5U };
const goodClaims = () => ({ attest: 'A', dest: { tn: ['12355551212'] }, iat: 1_700_000_000, orig: { tn: '12155551212' }, origid: ORIGID });

describe('createPassport', () => {
  it('writes header and claims as canonical JSON (RFC 8225 §9) with a raw R||S signature', async () => {
    const jws = await createPassport(params(), pki.leafKeys.privateKey);
    const [h, p, s] = jws.split('.') as [string, string, string];
    expect(Buffer.from(h, 'base64url').toString()).toBe(`{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"${X5U}"}`);
    expect(Buffer.from(p, 'base64url').toString()).toBe(
      `{"attest":"A","dest":{"tn":["12355551212"]},"iat":${iatNow()},"orig":{"tn":"12155551212"},"origid":"${ORIGID}"}`,
    );
    const signature = Buffer.from(s, 'base64url');
    expect(signature.byteLength).toBe(64);
    expect(nodeVerify('sha256', Buffer.from(`${h}.${p}`), { key: KeyObject.from(pki.leafKeys.publicKey), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  });

  it('defaults origid to a fresh UUID and iat to now', async () => {
    const before = Math.floor(Date.now() / 1000);
    const a = parsePassport(await createPassport({ attest: 'B', orig: '1', dest: ['2', '3'], x5u: X5U }, pki.leafKeys.privateKey));
    const b = parsePassport(await createPassport({ attest: 'B', orig: '1', dest: ['2'], x5u: X5U }, pki.leafKeys.privateKey));
    expect(a.claims.origid).not.toBe(b.claims.origid);
    expect(a.claims.iat).toBeGreaterThanOrEqual(before);
    expect(a.claims.dest.tn).toEqual(['2', '3']);
  });

  it.each([
    ['attest D', { attest: 'D' as never }, 'PASSPORT.INVALID_CLAIMS'],
    ['a + in orig', { orig: '+12155551212' }, 'PASSPORT.INVALID_CLAIMS'],
    ['an empty dest list', { dest: [] }, 'PASSPORT.INVALID_CLAIMS'],
    ['a non-UUID origid', { origid: 'call-1' }, 'PASSPORT.INVALID_CLAIMS'],
    ['a fractional iat', { iat: 1.5 }, 'PASSPORT.INVALID_CLAIMS'],
    ['a relative x5u', { x5u: '/cert.pem' }, 'PASSPORT.MALFORMED'],
  ])('refuses %s', async (_what, override, code) => {
    expect(await codeOf(createPassport(params(override), pki.leafKeys.privateKey))).toBe(code);
  });
});

describe('verifyPassport', () => {
  it('accepts a fresh PASSporT from a trusted, unrevoked SPC certificate', async () => {
    const verified = await verifyPassport(await createPassport(params(), pki.leafKeys.privateKey), options());
    expect(verified.spc).toBe('818H');
    expect(verified.claims.attest).toBe('A');
    expect(verified.path).toHaveLength(3);
  });

  it('rejects iat outside the freshness window either way (PASSPORT.STALE)', async () => {
    const old = await createPassport(params({ iat: iatNow() - 61 }), pki.leafKeys.privateKey);
    expect(await codeOf(verifyPassport(old, options()))).toBe('PASSPORT.STALE');
    await expect(verifyPassport(old, options({ maxAgeSeconds: 120 }))).resolves.toBeDefined();
    const future = await createPassport(params({ iat: iatNow() + 61 }), pki.leafKeys.privateKey);
    expect(await codeOf(verifyPassport(future, options()))).toBe('PASSPORT.STALE');
    const sixteen = await createPassport(params({ iat: iatNow() - 16 }), pki.leafKeys.privateKey);
    expect(await codeOf(verifyPassport(sixteen, options({ maxAgeSeconds: 15 })))).toBe('PASSPORT.STALE');
  });

  it('rejects a signature by another key (PASSPORT.BAD_SIGNATURE)', async () => {
    expect(await codeOf(verifyPassport(await createPassport(params(), other.leafKeys.privateKey), options()))).toBe('PASSPORT.BAD_SIGNATURE');
  });

  it('rejects a certificate that was not valid at iat', async () => {
    const late = await buildTestPki({ leafNotBefore: new Date(Date.now() + 30_000), now: new Date() });
    const jws = await createPassport(params({ iat: Math.floor(late.now.getTime() / 1000) }), late.leafKeys.privateKey);
    const fetchChain = async () => certificateChainToPem([late.leaf, late.intermediate]);
    expect(await codeOf(verifyPassport(jws, options({ fetchChain, trustAnchors: [late.root], now: late.now })))).toBe(
      'PASSPORT.CERT_NOT_VALID_AT_IAT',
    );
  });

  it('rejects a chain to an unapproved root, and an x5u that serves the leaf only', async () => {
    const jws = await createPassport(params(), pki.leafKeys.privateKey);
    expect(await codeOf(verifyPassport(jws, options({ trustAnchors: [other.root] })))).toBe('PASSPORT.UNTRUSTED_CHAIN');
    const leafOnly = async () => certificateChainToPem([pki.leaf]);
    expect(await codeOf(verifyPassport(jws, options({ fetchChain: leafOnly })))).toBe('PASSPORT.UNTRUSTED_CHAIN');
  });

  it('rejects a revoked leaf or intermediate on the STI-PA CRL, and a CRL that is not the STI-PA’s', async () => {
    const signerKeys = await generateP256KeyPair();
    const signer = await createCaCertificate({
      keys: signerKeys,
      subjectDn: STI_PA_CRL_ISSUER_DN,
      notBefore: new Date(pki.now.getTime() - DAY_MS),
      notAfter: new Date(pki.now.getTime() + DAY_MS),
      keyUsage: ['keyCertSign', 'cRLSign'],
    });
    const crlListing = (serialNumber: string) =>
      createCrl({
        issuer: { certificate: signer, privateKey: signerKeys.privateKey },
        thisUpdate: new Date(pki.now.getTime() - 60_000),
        nextUpdate: new Date(pki.now.getTime() + DAY_MS),
        crlNumber: 9,
        entries: [{ serialNumber, revocationDate: pki.now }],
      });
    const jws = await createPassport(params(), pki.leafKeys.privateKey);
    for (const revoked of [pki.leaf, pki.intermediate]) {
      const crl = await crlListing(revoked.serialNumber);
      expect(await codeOf(verifyPassport(jws, options({ crl: { crl, issuer: signer } })))).toBe('PASSPORT.REVOKED');
    }
    const unrelated = await crlListing(other.leaf.serialNumber);
    await expect(verifyPassport(jws, options({ crl: { crl: unrelated, issuer: signer } }))).resolves.toBeDefined();
    expect(await codeOf(verifyPassport(jws, options({ crl: { crl: unrelated, issuer: pki.intermediate } })))).toBe('CRL.BAD_SIGNATURE');
  });

  it('rejects a signer whose TNAuthList is missing or does not start with an SPC (PASSPORT.NO_SPC)', async () => {
    const keys = await generateP256KeyPair();
    const issuer = { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey };
    const noList = await issueEndEntityCertificate({
      issuer,
      subjectPublicKey: keys.publicKey,
      subjectDn: 'C=US, O=X, CN=SHAKEN 818H',
      notBefore: new Date(pki.now.getTime() - 60_000),
      notAfter: new Date(pki.now.getTime() + DAY_MS),
    });
    const numberFirst = await X509CertificateGenerator.create({
      subject: 'C=US, O=X, CN=SHAKEN delegate',
      issuer: pki.intermediate.subjectName,
      publicKey: keys.publicKey,
      signingKey: pki.intermediateKeys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      notBefore: new Date(pki.now.getTime() - 60_000),
      notAfter: new Date(pki.now.getTime() + DAY_MS),
      extensions: [
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new BasicConstraintsExtension(false, undefined, true),
        new TnAuthListExtension([{ kind: 'one', tn: '12155551212' }, { kind: 'spc', spc: '818H' }]),
      ],
    });
    const jws = await createPassport(params(), keys.privateKey);
    for (const leaf of [noList, numberFirst]) {
      const fetchChain = async () => certificateChainToPem([leaf, pki.intermediate]);
      expect(await codeOf(verifyPassport(jws, options({ fetchChain })))).toBe('PASSPORT.NO_SPC');
    }
  });

  it('reports x5u failures as PASSPORT.X5U_FETCH_FAILED', async () => {
    const jws = await createPassport(params(), pki.leafKeys.privateKey);
    const failing = async () => {
      throw new Error('timeout');
    };
    expect(await codeOf(verifyPassport(jws, options({ fetchChain: failing })))).toBe('PASSPORT.X5U_FETCH_FAILED');
    expect(await codeOf(verifyPassport(jws, options({ fetchChain: async () => 'oops' })))).toBe('PASSPORT.X5U_FETCH_FAILED');
    await expect(verifyPassport(jws, options({ fetchChain: async () => new Uint8Array(pki.leaf.rawData), trustAnchors: [pki.root] }))).rejects.toMatchObject({
      code: 'PASSPORT.UNTRUSTED_CHAIN',
    });
  });
});

describe('parsePassport errors', () => {
  it.each([
    ['alg ES384', { ...goodHeader, alg: 'ES384' }, goodClaims(), 'PASSPORT.UNSUPPORTED_ALG'],
    ['alg none', { ...goodHeader, alg: 'none' }, goodClaims(), 'PASSPORT.UNSUPPORTED_ALG'],
    ['ppt div', { ...goodHeader, ppt: 'div' }, goodClaims(), 'PASSPORT.UNSUPPORTED_PPT'],
    ['typ JWT', { ...goodHeader, typ: 'JWT' }, goodClaims(), 'PASSPORT.UNSUPPORTED_PPT'],
    ['no x5u', { alg: 'ES256', ppt: 'shaken', typ: 'passport' }, goodClaims(), 'PASSPORT.MALFORMED'],
    ['dest.tn as a string', goodHeader, { ...goodClaims(), dest: { tn: '12355551212' } }, 'PASSPORT.MALFORMED'],
    ['no orig', goodHeader, { ...goodClaims(), orig: undefined }, 'PASSPORT.MALFORMED'],
    ['iat as a string', goodHeader, { ...goodClaims(), iat: '1' }, 'PASSPORT.MALFORMED'],
    ['attest X', goodHeader, { ...goodClaims(), attest: 'X' }, 'PASSPORT.INVALID_CLAIMS'],
    ['orig.tn with letters', goodHeader, { ...goodClaims(), orig: { tn: '1215555CALL' } }, 'PASSPORT.INVALID_CLAIMS'],
    ['no origid', goodHeader, { ...goodClaims(), origid: undefined }, 'PASSPORT.INVALID_CLAIMS'],
  ])('rejects %s', async (_what, header, claims, code) => {
    expect(await codeOf(async () => parsePassport(await handMade(header, claims)))).toBe(code);
  });

  it('rejects text that is not a JWS', async () => {
    expect(await codeOf(() => parsePassport('a.b'))).toBe('PASSPORT.MALFORMED');
  });
});

describe('Identity header', () => {
  it('writes and reads <jws>;info=<x5u>;alg=ES256;ppt=shaken', async () => {
    const jws = await createPassport(params(), pki.leafKeys.privateKey);
    const value = identityHeader(jws, X5U);
    expect(value).toBe(`${jws};info=<${X5U}>;alg=ES256;ppt=shaken`);
    expect(parseIdentityHeader(value)).toEqual({ jws, info: X5U, alg: 'ES256', ppt: 'shaken', parameters: { info: `<${X5U}>`, alg: 'ES256', ppt: 'shaken' } });
  });

  it('tolerates spacing and parameter case, as SIP allows', () => {
    const parsed = parseIdentityHeader('aaa.bbb.ccc ; Info = <https://x.example/c.pem> ;ALG=ES256; ppt=shaken');
    expect(parsed).toMatchObject({ jws: 'aaa.bbb.ccc', info: 'https://x.example/c.pem', alg: 'ES256', ppt: 'shaken' });
  });

  it.each([
    ['no JWS', ';info=<https://x/c>'],
    ['no info', 'aaa.bbb.ccc;alg=ES256'],
    ['info without brackets', 'aaa.bbb.ccc;info=https://x/c'],
    ['a repeated parameter', 'aaa.bbb.ccc;info=<https://x/c>;alg=ES256;alg=ES256'],
    ['a broken parameter', 'aaa.bbb.ccc;info=<https://x/c>;=x'],
  ])('rejects %s as PASSPORT.MALFORMED_IDENTITY', async (_what, value) => {
    expect(await codeOf(() => parseIdentityHeader(value))).toBe('PASSPORT.MALFORMED_IDENTITY');
  });

  it('refuses to write a header for a non-JWS or a bad x5u', async () => {
    expect(await codeOf(() => identityHeader('not a jws', X5U))).toBe('PASSPORT.MALFORMED');
    expect(await codeOf(() => identityHeader('a.b.c', 'cert.pem'))).toBe('PASSPORT.MALFORMED');
  });
});
