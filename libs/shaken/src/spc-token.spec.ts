import 'reflect-metadata';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { X509Certificate } from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from './testing/pki.js';
import { certificateChainToPem } from './certificate.js';
import { ShakenError } from './errors.js';
import { createCaCertificate, issueEndEntityCertificate } from './issuance.js';
import { signCompactJws } from './jws.js';
import { type CryptoKeyPair, generateP256KeyPair, stiPaFingerprint } from './keys.js';
import { createAtc, parseSpcToken, signSpcToken, verifySpcToken, type SpcTokenVerification } from './spc-token.js';
import { encodeAcmeIdentifierValue, tnAuthListForSpc } from './tn-auth-list.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const X5U = 'https://authenticate-api.iconectiv.com/download/v1/certificate/certificate_ref_1.crt';
const TKVALUE = 'MAigBhYEODE4SA=='; // SPC 818H, standard base64 as the STI-PA writes it

interface StiPa {
  root: X509Certificate;
  signer: X509Certificate;
  signerKeys: CryptoKeyPair;
}

async function buildStiPa(signerNotAfter = new Date(NOW.getTime() + 365 * DAY_MS)): Promise<StiPa> {
  const rootKeys = await generateP256KeyPair();
  const root = await createCaCertificate({
    keys: rootKeys,
    subjectDn: 'C=US, O=STI-PA, CN=STI-PA ROOT',
    notBefore: new Date(NOW.getTime() - 365 * DAY_MS),
    notAfter: new Date(NOW.getTime() + 3650 * DAY_MS),
  });
  const signerKeys = await generateP256KeyPair();
  const signer = await issueEndEntityCertificate({
    issuer: { certificate: root, privateKey: rootKeys.privateKey },
    subjectPublicKey: signerKeys.publicKey,
    subjectDn: 'C=US, O=STI-PA, CN=STI-PA SPC token signer',
    notBefore: new Date(NOW.getTime() - DAY_MS),
    notAfter: signerNotAfter,
  });
  return { root, signer, signerKeys };
}

let stiPa: StiPa;
let otherStiPa: StiPa;
let accountFingerprint: string;

beforeAll(async () => {
  [stiPa, otherStiPa] = await Promise.all([buildStiPa(), buildStiPa()]);
  accountFingerprint = await stiPaFingerprint((await generateP256KeyPair()).publicKey);
});

function options(overrides: Partial<SpcTokenVerification> = {}): SpcTokenVerification {
  return {
    fetchCertificate: async (url) => {
      expect(url).toBe(X5U);
      return certificateChainToPem([stiPa.signer]);
    },
    trustAnchors: [stiPa.root],
    expected: { tkvalue: TKVALUE, fingerprint: accountFingerprint, ca: false },
    now: NOW,
    ...overrides,
  };
}

async function token(overrides: { exp?: number; ca?: boolean; tkvalue?: string; fingerprint?: string; key?: CryptoKeyPair } = {}) {
  return signSpcToken(
    {
      atc: { tkvalue: overrides.tkvalue ?? TKVALUE, ca: overrides.ca ?? false, fingerprint: overrides.fingerprint ?? accountFingerprint },
      x5u: X5U,
      exp: overrides.exp ?? NOW.getTime() / 1000 + 3600,
      jti: 'c5a4e2a6-0c64-4d5e-9c3f-5f6b4a1d2e3f',
    },
    (overrides.key ?? stiPa.signerKeys).privateKey,
  );
}

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  const error = await (typeof promise === 'function' ? Promise.resolve().then(promise) : promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShakenError);
  return (error as ShakenError).code;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token with any header/payload, signed by the STI-PA signer key over exactly these bytes. */
async function handMade(header: unknown, payload: unknown): Promise<string> {
  const signed = await signCompactJws({}, { x: 1 }, stiPa.signerKeys.privateKey);
  return `${b64(header)}.${b64(payload)}.${signed.split('.')[2]}`;
}

describe('SPC tokens', () => {
  it('signs the STI-PA shape: header alg/typ/x5u, payload exp/jti/atc and nothing else', async () => {
    const jws = await token();
    const [header, payload] = jws.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', x5u: X5U });
    expect(payload).toEqual({
      exp: NOW.getTime() / 1000 + 3600,
      jti: 'c5a4e2a6-0c64-4d5e-9c3f-5f6b4a1d2e3f',
      atc: { tktype: 'TNAuthList', tkvalue: TKVALUE, ca: false, fingerprint: accountFingerprint },
    });
    const parsed = parseSpcToken(jws);
    expect(parsed.tnAuthList).toEqual([{ kind: 'spc', spc: '818H' }]);
    expect(parsed.expiresAt.toISOString()).toBe('2026-11-23T13:00:00.000Z');
  });

  it('verifies a valid token and returns the signer and its path', async () => {
    const verified = await verifySpcToken(await token(), options());
    expect(verified.signer.subject).toBe('C=US, O=STI-PA, CN=STI-PA SPC token signer');
    expect(verified.path).toHaveLength(2);
    expect(verified.claims.atc.fingerprint).toBe(accountFingerprint);
  });

  it('accepts the expected TNAuthList as entries, DER, base64url or base64, and the fingerprint in any hex case', async () => {
    const jws = await token();
    for (const tkvalue of [[{ kind: 'spc' as const, spc: '818H' }], tnAuthListForSpc('818H'), 'MAigBhYEODE4SA', TKVALUE]) {
      await expect(verifySpcToken(jws, options({ expected: { tkvalue, fingerprint: accountFingerprint.toLowerCase().replace('sha256', 'SHA256') } }))).resolves.toBeDefined();
    }
  });

  it('fetches x5u over real HTTP and accepts a DER body too', async () => {
    const server = createServer((request, response) => {
      const der = request.url === '/der';
      response.writeHead(200, { 'content-type': der ? 'application/pkix-cert' : 'application/pem-certificate-chain' });
      response.end(der ? Buffer.from(stiPa.signer.rawData) : certificateChainToPem([stiPa.signer]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of ['/pem', '/der']) {
        const jws = await signSpcToken({ atc: { tkvalue: TKVALUE, ca: false, fingerprint: accountFingerprint }, x5u: `${base}${path}`, exp: NOW.getTime() / 1000 + 60 }, stiPa.signerKeys.privateKey);
        const fetchCertificate = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());
        await expect(verifySpcToken(jws, options({ fetchCertificate }))).resolves.toBeDefined();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('builds the atc request body the STI-PA expects', () => {
    expect(createAtc(tnAuthListForSpc('818H'), 'SHA256 AA:BB')).toEqual({ tktype: 'TNAuthList', tkvalue: TKVALUE, ca: false, fingerprint: 'SHA256 AA:BB' });
    expect(createAtc([{ kind: 'spc', spc: '818H' }], 'x', true).ca).toBe(true);
  });
});

describe('SPC token errors', () => {
  const header = { alg: 'ES256', typ: 'JWT', x5u: X5U };
  const payload = { exp: NOW.getTime() / 1000 + 60, jti: 'j', atc: { tktype: 'TNAuthList', tkvalue: TKVALUE, ca: false, fingerprint: 'SHA256 AB:CD' } };

  it.each([
    ['typ passport', { ...header, typ: 'passport' }, payload],
    ['no x5u', { alg: 'ES256', typ: 'JWT' }, payload],
    ['an ftp x5u', { ...header, x5u: 'ftp://sti-pa/cert' }, payload],
    ['a string exp', header, { ...payload, exp: '1700000000' }],
    ['a fractional exp', header, { ...payload, exp: 1.5 }],
    ['no jti', header, { ...payload, jti: '' }],
    ['no atc', header, { exp: payload.exp, jti: 'j' }],
    ['atc.tktype other than TNAuthList', header, { ...payload, atc: { ...payload.atc, tktype: 'SPC' } }],
    ['atc.tkvalue that is not base64', header, { ...payload, atc: { ...payload.atc, tkvalue: '***' } }],
    ['atc.tkvalue that is not a TNAuthList', header, { ...payload, atc: { ...payload.atc, tkvalue: 'AAAA' } }],
    ['atc.ca as a string', header, { ...payload, atc: { ...payload.atc, ca: 'false' } }],
    ['a fingerprint without algorithm', header, { ...payload, atc: { ...payload.atc, fingerprint: 'AB:CD' } }],
  ])('rejects %s as SPC_TOKEN.MALFORMED', async (_what, h, p) => {
    expect(await codeOf(async () => parseSpcToken(await handMade(h, p)))).toBe('SPC_TOKEN.MALFORMED');
  });

  it('rejects text that is not a JWS as SPC_TOKEN.MALFORMED', async () => {
    expect(await codeOf(() => parseSpcToken('not-a-token'))).toBe('SPC_TOKEN.MALFORMED');
  });

  it.each(['none', 'HS256', 'RS256', 'ES384'])('rejects alg %s as SPC_TOKEN.UNSUPPORTED_ALG', async (alg) => {
    expect(await codeOf(async () => parseSpcToken(await handMade({ ...header, alg }, payload)))).toBe('SPC_TOKEN.UNSUPPORTED_ALG');
  });

  it('rejects a token signed by another key, or with a changed payload, as SPC_TOKEN.BAD_SIGNATURE', async () => {
    expect(await codeOf(verifySpcToken(await token({ key: otherStiPa.signerKeys }), options()))).toBe('SPC_TOKEN.BAD_SIGNATURE');
    const [h, , s] = (await token()).split('.');
    const changed = `${h}.${b64({ ...payload, atc: { ...payload.atc, fingerprint: accountFingerprint } })}.${s}`;
    expect(await codeOf(verifySpcToken(changed, options()))).toBe('SPC_TOKEN.BAD_SIGNATURE');
  });

  it('rejects a signer that does not chain to the pinned root, or is expired, as SPC_TOKEN.UNTRUSTED_ISSUER', async () => {
    expect(await codeOf(verifySpcToken(await token(), options({ trustAnchors: [otherStiPa.root] })))).toBe('SPC_TOKEN.UNTRUSTED_ISSUER');
    const lapsed = await buildStiPa(new Date(NOW.getTime() - 1000));
    const jws = await token({ key: lapsed.signerKeys });
    const fetchCertificate = async () => certificateChainToPem([lapsed.signer]);
    expect(await codeOf(verifySpcToken(jws, options({ fetchCertificate, trustAnchors: [lapsed.root] })))).toBe('SPC_TOKEN.UNTRUSTED_ISSUER');
  });

  it('rejects a token at or after exp as SPC_TOKEN.EXPIRED', async () => {
    expect(await codeOf(verifySpcToken(await token({ exp: NOW.getTime() / 1000 }), options()))).toBe('SPC_TOKEN.EXPIRED');
    expect(await codeOf(verifySpcToken(await token({ exp: NOW.getTime() / 1000 - 1 }), options()))).toBe('SPC_TOKEN.EXPIRED');
  });

  it('rejects claims that differ from the order', async () => {
    const base = { tkvalue: TKVALUE, fingerprint: accountFingerprint, ca: false };
    const jws = await token();
    expect(await codeOf(verifySpcToken(jws, options({ expected: { ...base, tkvalue: encodeAcmeIdentifierValue(tnAuthListForSpc('709J')) } })))).toBe(
      'SPC_TOKEN.TKVALUE_MISMATCH',
    );
    expect(await codeOf(verifySpcToken(jws, options({ expected: { ...base, fingerprint: 'SHA256 00:11' } })))).toBe('SPC_TOKEN.FINGERPRINT_MISMATCH');
    expect(await codeOf(verifySpcToken(jws, options({ expected: { ...base, ca: true } })))).toBe('SPC_TOKEN.CA_MISMATCH');
  });

  it('reports fetch failures and non-certificate bodies as SPC_TOKEN.X5U_FETCH_FAILED', async () => {
    const jws = await token();
    for (const fetchCertificate of [
      async () => {
        throw new Error('ECONNREFUSED');
      },
      async () => '<html>not found</html>',
      async () => new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]),
      async () => new Uint8Array(),
    ]) {
      expect(await codeOf(verifySpcToken(jws, options({ fetchCertificate })))).toBe('SPC_TOKEN.X5U_FETCH_FAILED');
    }
  });

  it('never puts the token into an error message', async () => {
    const jws = await token();
    const error = await verifySpcToken(jws, options({ expected: { ca: true } })).then(
      () => new Error('verified'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(ShakenError);
    expect(error.message).not.toContain(jws.split('.')[1]);
    expect(error.message).not.toContain(jws.split('.')[2]);
  });
});

