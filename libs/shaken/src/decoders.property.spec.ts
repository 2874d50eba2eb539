import 'reflect-metadata';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestPki, type TestPki } from './testing/pki.js';
import { certificateChainToPem, crlToPem, parseCertificate, parseCertificateChain, parseCrl } from './certificate.js';
import { buildShakenCsr, parseShakenCsr } from './csr.js';
import { ShakenError } from './errors.js';
import { createCrl } from './issuance.js';
import { parseCompactJws } from './jws.js';
import { exportPrivateKeyPem, importPrivateKeyPem, importSpki, spkiDer } from './keys.js';
import { createPassport, parseIdentityHeader, verifyPassport } from './passport.js';
import { signSpcToken, verifySpcToken } from './spc-token.js';
import { decodeAcmeIdentifierValue, decodeTnAuthList, encodeTnAuthList, tnAuthListForSpc } from './tn-auth-list.js';

// Every decoder fed random or mutated input must either return or throw a ShakenError: never a
// TypeError from deep inside asn1js, never a hang. Runs are bounded so the suite stays fast;
// fast-check's per-run timeout turns a hang into a failure.
const RUNS = 150;
const PER_RUN_TIMEOUT_MS = 2_000;

async function returnsOrShakenError(run: () => unknown): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (error) {
    if (error instanceof ShakenError) return true;
    throw error;
  }
}

/** Random edits of a valid encoding: byte flips, truncation, insertion, length-byte damage. */
function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('xor' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 255 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes = [...seed];
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === 'set') bytes[at] = e.value;
      else if (e.kind === 'xor') bytes[at] = (bytes[at] ?? 0) ^ e.value;
      else if (e.kind === 'cut') bytes = bytes.slice(0, at);
      else bytes.splice(at, 0, e.value);
    }
    return new Uint8Array(bytes);
  });
}

const randomBytes = fc.uint8Array({ minLength: 0, maxLength: 300 });
const bytesNear = (seed: Uint8Array) => fc.oneof(randomBytes, mutated(seed));
const asText = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const pemOf = (bytes: Uint8Array, label: string) => `-----BEGIN ${label}-----\n${Buffer.from(bytes).toString('base64')}\n-----END ${label}-----\n`;

function mutatedText(seed: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.tuple(fc.nat(), fc.string({ maxLength: 5 }), fc.nat({ max: 8 })).map(([at, insert, remove]) => {
      const i = at % (seed.length + 1);
      return seed.slice(0, i) + insert + seed.slice(i + remove);
    }),
  );
}

let pki: TestPki;
let csrDer: Uint8Array;
let crlDer: Uint8Array;
let spcToken: string;
let passport: string;
let pkcs8Pem: string;
let sec1Pem: string;
const X5U = 'https://sti-pa.example/cert.pem';

beforeAll(async () => {
  pki = await buildTestPki({ intermediateKeyUsage: ['keyCertSign', 'cRLSign'] });
  csrDer = (await buildShakenCsr({ keys: pki.leafKeys, legalName: 'Example', spc: '818H', crlDistributionPoint: { url: 'https://x.example/crl', issuerDn: 'C=US, O=STI-PA, CN=STI-PA CRL' } })).der;
  const crl = await createCrl({
    issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
    thisUpdate: pki.now,
    nextUpdate: new Date(pki.now.getTime() + 86_400_000),
    crlNumber: 1,
    entries: [{ serialNumber: pki.leaf.serialNumber, revocationDate: pki.now }],
  });
  crlDer = new Uint8Array(crl.rawData);
  spcToken = await signSpcToken(
    { atc: { tkvalue: 'MAigBhYEODE4SA==', ca: false, fingerprint: 'SHA256 AB:CD' }, x5u: X5U, exp: Math.floor(pki.now.getTime() / 1000) + 60 },
    pki.leafKeys.privateKey,
  );
  passport = await createPassport({ attest: 'A', orig: '12155551212', dest: '12355551212', iat: pki.now, x5u: X5U }, pki.leafKeys.privateKey);
  pkcs8Pem = await exportPrivateKeyPem(pki.leafKeys.privateKey, 'pkcs8');
  sec1Pem = await exportPrivateKeyPem(pki.leafKeys.privateKey, 'sec1');
});

const settings = { numRuns: RUNS, timeout: PER_RUN_TIMEOUT_MS } as const;

describe('decoders only ever return or throw ShakenError', () => {
  it('decodeTnAuthList and decodeAcmeIdentifierValue', async () => {
    const seed = encodeTnAuthList([
      { kind: 'spc', spc: '818H' },
      { kind: 'range', start: '12025550100', count: 100 },
      { kind: 'one', tn: '12025550199' },
    ]);
    await fc.assert(fc.asyncProperty(bytesNear(seed), async (bytes) => returnsOrShakenError(() => decodeTnAuthList(bytes))), { ...settings, numRuns: 500 });
    await fc.assert(
      fc.asyncProperty(mutatedText('MAigBhYEODE4SA'), async (text) => returnsOrShakenError(() => decodeAcmeIdentifierValue(text))),
      settings,
    );
  });

  it('parseShakenCsr (DER and PEM)', async () => {
    await fc.assert(fc.asyncProperty(bytesNear(csrDer), async (bytes) => returnsOrShakenError(() => parseShakenCsr(bytes))), settings);
    await fc.assert(
      fc.asyncProperty(bytesNear(csrDer), async (bytes) => returnsOrShakenError(() => parseShakenCsr(pemOf(bytes, 'CERTIFICATE REQUEST')))),
      { ...settings, numRuns: 50 },
    );
  });

  it('parseCertificate, parseCertificateChain and parseCrl', async () => {
    const leafDer = new Uint8Array(pki.leaf.rawData);
    await fc.assert(fc.asyncProperty(bytesNear(leafDer), async (bytes) => returnsOrShakenError(() => parseCertificate(bytes))), settings);
    await fc.assert(
      fc.asyncProperty(mutatedText(certificateChainToPem([pki.leaf, pki.intermediate])), async (text) =>
        returnsOrShakenError(() => parseCertificateChain(text)),
      ),
      settings,
    );
    await fc.assert(fc.asyncProperty(bytesNear(crlDer), async (bytes) => returnsOrShakenError(() => parseCrl(bytes))), settings);
    await fc.assert(fc.asyncProperty(mutatedText(crlToPem(parseCrl(crlDer))), async (text) => returnsOrShakenError(() => parseCrl(text))), {
      ...settings,
      numRuns: 50,
    });
  });

  it('importPrivateKeyPem and importSpki', async () => {
    const spki = await spkiDer(pki.leafKeys.publicKey);
    await fc.assert(fc.asyncProperty(bytesNear(spki), async (bytes) => returnsOrShakenError(() => importSpki(bytes))), settings);
    await fc.assert(fc.asyncProperty(mutatedText(sec1Pem), async (text) => returnsOrShakenError(() => importPrivateKeyPem(text))), settings);
    await fc.assert(
      fc.asyncProperty(bytesNear(new Uint8Array(Buffer.from(pkcs8Pem.split('\n').slice(1, -2).join(''), 'base64'))), async (bytes) =>
        returnsOrShakenError(() => importPrivateKeyPem(pemOf(bytes, 'PRIVATE KEY'))),
      ),
      settings,
    );
  });

  it('parseCompactJws, verifySpcToken and verifyPassport on mutated tokens', async () => {
    const fetchCertificate = async () => certificateChainToPem([pki.leaf, pki.intermediate]);
    const spcOptions = { fetchCertificate, trustAnchors: [pki.root], expected: { tkvalue: tnAuthListForSpc('818H') }, now: pki.now };
    const passportOptions = { fetchChain: fetchCertificate, trustAnchors: [pki.root], now: pki.now };
    await fc.assert(fc.asyncProperty(mutatedText(spcToken), async (text) => returnsOrShakenError(() => parseCompactJws(text))), settings);
    await fc.assert(fc.asyncProperty(mutatedText(spcToken), async (text) => returnsOrShakenError(() => verifySpcToken(text, spcOptions))), settings);
    await fc.assert(fc.asyncProperty(mutatedText(passport), async (text) => returnsOrShakenError(() => verifyPassport(text, passportOptions))), settings);
  });

  it('verifySpcToken and verifyPassport on arbitrary JSON headers and payloads', async () => {
    const fetchCertificate = async () => certificateChainToPem([pki.leaf, pki.intermediate]);
    const signature = spcToken.split('.')[2] as string;
    const token = fc
      .tuple(fc.oneof(fc.jsonValue(), fc.constant({ alg: 'ES256', typ: 'JWT', x5u: X5U })), fc.jsonValue())
      .map(([header, payload]) => `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`);
    await fc.assert(
      fc.asyncProperty(token, async (text) =>
        returnsOrShakenError(() => verifySpcToken(text, { fetchCertificate, trustAnchors: [pki.root], expected: {}, now: pki.now })),
      ),
      settings,
    );
    await fc.assert(
      fc.asyncProperty(token, async (text) => returnsOrShakenError(() => verifyPassport(text, { fetchChain: fetchCertificate, trustAnchors: [pki.root], now: pki.now }))),
      settings,
    );
  });

  it('parseIdentityHeader', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedText(`${passport};info=<${X5U}>;alg=ES256;ppt=shaken`), async (text) => returnsOrShakenError(() => parseIdentityHeader(text))),
      settings,
    );
  });

  it('the x5u body of a token can be anything', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(randomBytes, mutated(new Uint8Array(pki.leaf.rawData))), fc.boolean(), async (bytes, asString) => {
        const fetchCertificate = async () => (asString ? asText(bytes) : bytes);
        return returnsOrShakenError(() => verifySpcToken(spcToken, { fetchCertificate, trustAnchors: [pki.root], expected: {}, now: pki.now }));
      }),
      { ...settings, numRuns: 100 },
    );
  });
});

describe('sanity of the harness', () => {
  it('a non-ShakenError escapes returnsOrShakenError', async () => {
    await expect(returnsOrShakenError(() => {
      throw new TypeError('boom');
    })).rejects.toThrow(TypeError);
    expect(await returnsOrShakenError(() => decodeTnAuthList(new Uint8Array([0x30, 0x00])))).toBe(true);
  });
});
