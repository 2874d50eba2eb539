import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  Extension,
  type Extension as X509Extension,
  Pkcs10CertificateRequestGenerator,
} from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { buildShakenCsr, checkShakenCsr, parseShakenCsr } from './csr.js';
import { ShakenError } from './errors.js';
import { generateP256KeyPair, publicKeysEqual } from './keys.js';
import { TN_AUTH_LIST_OID, TnAuthListExtension, tnAuthListForSpc } from './tn-auth-list.js';

const STI_PA_CRL = {
  url: 'https://authenticate-api.iconectiv.com/download/v1/crl',
  issuerDn: 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA',
};

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  const error = await (typeof promise === 'function' ? Promise.resolve().then(promise) : promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShakenError);
  return (error as ShakenError).code;
}

/** A request made with the bare generator, to build what buildShakenCsr refuses to build. */
async function rawCsr(options: { name?: string; extensions?: X509Extension[]; hash?: string; curve?: string }) {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: options.curve ?? 'P-256' }, true, ['sign', 'verify']);
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: options.name ?? 'C=US, O=Example, CN=SHAKEN 818H',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: options.hash ?? 'SHA-256' },
    extensions: options.extensions ?? [new TnAuthListExtension([{ kind: 'spc', spc: '818H' }])],
  });
  return new Uint8Array(csr.rawData);
}

describe('buildShakenCsr', () => {
  it('builds C=US, O=<legal name>, CN=SHAKEN <SPC> with the TNAuthList and STI-PA CRL point, and reads it back', async () => {
    const keys = await generateP256KeyPair();
    const csr = await buildShakenCsr({ keys, legalName: 'AT&T Corp, Inc.', spc: '818H', crlDistributionPoint: STI_PA_CRL });
    expect(csr.pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+-----END CERTIFICATE REQUEST-----\n$/);

    const parsed = await parseShakenCsr(csr.pem);
    expect(parsed.subject.dn).toBe('C=US, O=AT&T Corp\\, Inc., CN=SHAKEN 818H');
    expect(parsed.subject).toMatchObject({ country: ['US'], organization: ['AT&T Corp, Inc.'], commonName: ['SHAKEN 818H'] });
    expect(parsed.tnAuthList).toEqual([{ kind: 'spc', spc: '818H' }]);
    expect(parsed.spc).toBe('818H');
    expect(parsed.ca).toBe(false);
    expect(parsed.crlDistributionPoint).toEqual(STI_PA_CRL);
    expect(parsed.signatureValid).toBe(true);
    expect(await publicKeysEqual(parsed.publicKey, keys.publicKey)).toBe(true);
    expect(Buffer.from(parsed.der).equals(Buffer.from(csr.der))).toBe(true);
    // The TNAuthList bytes inside are the RFC 8226 encoding.
    expect(Buffer.from(csr.der).includes(Buffer.from(tnAuthListForSpc('818H')))).toBe(true);
    expect(() => checkShakenCsr(parsed, { tnAuthList: tnAuthListForSpc('818H'), ca: false })).not.toThrow();
    expect(() => checkShakenCsr(parsed, { tnAuthList: [{ kind: 'spc', spc: '818H' }] })).not.toThrow();
  });

  it('builds the CA form: Basic Constraints CA:TRUE pathLen 0 and Key Usage keyCertSign, both critical', async () => {
    const keys = await generateP256KeyPair();
    const csr = await buildShakenCsr({ keys, legalName: 'Example Telecom', spc: '1234', ca: true });
    const parsed = await parseShakenCsr(csr.der);
    expect(parsed.ca).toBe(true);
    expect(parsed.crlDistributionPoint).toBeUndefined();
    expect(() => checkShakenCsr(parsed, { tnAuthList: tnAuthListForSpc('1234'), ca: true })).not.toThrow();
    expect(await codeOf(() => checkShakenCsr(parsed, { tnAuthList: tnAuthListForSpc('1234'), ca: false }))).toBe('CSR.CA_MISMATCH');
  });

  it('works with a non-extractable key (keys stay in custody)', async () => {
    const keys = await generateP256KeyPair(false);
    const parsed = await parseShakenCsr((await buildShakenCsr({ keys, legalName: 'X', spc: '818H' })).der);
    expect(parsed.signatureValid).toBe(true);
  });

  it('reports a key holder that fails to sign as CSR.SIGNING_FAILED', async () => {
    const keys = await generateP256KeyPair();
    // A WebCrypto provider whose signing fails, as an HSM session that dropped would.
    const subtle = webcrypto.subtle;
    const failing = {
      getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
      subtle: new Proxy(subtle, {
        get: (target, name) =>
          name === 'sign' ? () => Promise.reject(new Error('CKR_SESSION_CLOSED')) : (Reflect.get(target, name) as (...a: unknown[]) => unknown).bind(target),
      }),
    } as unknown as typeof webcrypto;
    expect(await codeOf(buildShakenCsr({ keys, legalName: 'X', spc: '818H', crypto: failing }))).toBe('CSR.SIGNING_FAILED');
  });

  it.each([
    ['', /empty/],
    [' Leading', /spaces/],
    ['A'.repeat(65), /65 characters/],
    ['Bad\nName', /control/],
  ])('rejects legal name %j', async (legalName, message) => {
    const keys = await generateP256KeyPair();
    const promise = buildShakenCsr({ keys, legalName, spc: '818H' });
    await expect(promise).rejects.toThrow(message);
    expect(await codeOf(buildShakenCsr({ keys, legalName, spc: '818H' }))).toBe('CSR.INVALID_LEGAL_NAME');
  });

  it('rejects a bad SPC, a non-P-256 key and a bad CRL point', async () => {
    const keys = await generateP256KeyPair();
    expect(await codeOf(buildShakenCsr({ keys, legalName: 'X', spc: '818h' }))).toBe('TN_AUTH_LIST.INVALID_SPC');
    const p384 = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
    expect(await codeOf(buildShakenCsr({ keys: p384, legalName: 'X', spc: '818H' }))).toBe('CSR.UNSUPPORTED_KEY');
    expect(
      await codeOf(buildShakenCsr({ keys, legalName: 'X', spc: '818H', crlDistributionPoint: { url: 'ftp://x', issuerDn: 'CN=x' } })),
    ).toBe('CSR.INVALID_CRL_DISTRIBUTION_POINT');
    expect(
      await codeOf(buildShakenCsr({ keys, legalName: 'X', spc: '818H', crlDistributionPoint: { url: 'https://x/crl', issuerDn: '' } })),
    ).toBe('CSR.INVALID_CRL_DISTRIBUTION_POINT');
  });
});

describe('parseShakenCsr errors', () => {
  it.each([
    ['text that is not PEM', 'hello'],
    ['a certificate PEM', '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'],
    ['an empty SEQUENCE', new Uint8Array([0x30, 0x00])],
    ['no bytes', new Uint8Array()],
    ['random bytes', new Uint8Array([1, 2, 3, 4, 5, 6])],
  ])('rejects %s as CSR.MALFORMED', async (_what, input) => {
    expect(await codeOf(parseShakenCsr(input))).toBe('CSR.MALFORMED');
  });

  it('rejects trailing bytes after the request', async () => {
    const keys = await generateP256KeyPair();
    const { der } = await buildShakenCsr({ keys, legalName: 'X', spc: '818H' });
    expect(await codeOf(parseShakenCsr(new Uint8Array([...der, 0])))).toBe('CSR.MALFORMED');
  });

  it('rejects a signature algorithm other than ecdsa-with-SHA256', async () => {
    expect(await codeOf(parseShakenCsr(await rawCsr({ hash: 'SHA-384' })))).toBe('CSR.UNSUPPORTED_SIGNATURE_ALGORITHM');
  });

  it('rejects a P-384 key', async () => {
    expect(await codeOf(parseShakenCsr(await rawCsr({ curve: 'P-384' })))).toBe('CSR.UNSUPPORTED_KEY');
  });

  it('rejects a request without TNAuthList, and one with a lowercase SPC', async () => {
    expect(await codeOf(parseShakenCsr(await rawCsr({ extensions: [] })))).toBe('CSR.MISSING_TN_AUTH_LIST');
    // "818h" as IA5String, hand-encoded since the encoder refuses it.
    const lowercase = new Extension(TN_AUTH_LIST_OID, false, Buffer.from('3008a006160438313868', 'hex'));
    expect(await codeOf(parseShakenCsr(await rawCsr({ extensions: [lowercase] })))).toBe('TN_AUTH_LIST.INVALID_SPC');
  });

  it('reports a tampered request as signatureValid false, and checkShakenCsr turns that into CSR.BAD_SIGNATURE', async () => {
    const keys = await generateP256KeyPair();
    const { der } = await buildShakenCsr({ keys, legalName: 'Example', spc: '818H' });
    const tampered = Buffer.from(der);
    const at = tampered.indexOf(Buffer.from('Example'));
    tampered[at] = 'F'.charCodeAt(0);
    const parsed = await parseShakenCsr(new Uint8Array(tampered));
    expect(parsed.subject.organization).toEqual(['Fxample']);
    expect(parsed.signatureValid).toBe(false);
    expect(await codeOf(() => checkShakenCsr(parsed, { tnAuthList: tnAuthListForSpc('818H') }))).toBe('CSR.BAD_SIGNATURE');
  });

  it('checkShakenCsr reports a TNAuthList or CN that does not match the order', async () => {
    const keys = await generateP256KeyPair();
    const parsed = await parseShakenCsr((await buildShakenCsr({ keys, legalName: 'Example', spc: '818H' })).der);
    expect(await codeOf(() => checkShakenCsr(parsed, { tnAuthList: tnAuthListForSpc('709J') }))).toBe('CSR.TN_AUTH_LIST_MISMATCH');

    const wrongCn = await parseShakenCsr(await rawCsr({ name: 'C=US, O=Example, CN=SHAKEN 709J' }));
    expect(await codeOf(() => checkShakenCsr(wrongCn, { tnAuthList: tnAuthListForSpc('818H') }))).toBe('CSR.SUBJECT_MISMATCH');
    expect(() => checkShakenCsr(wrongCn, { tnAuthList: tnAuthListForSpc('818H'), subjectCommonName: false })).not.toThrow();
  });

  it('rejects Basic Constraints requested twice', async () => {
    const bc = new BasicConstraintsExtension(false, undefined, true);
    const twice = await rawCsr({ extensions: [new TnAuthListExtension([{ kind: 'spc', spc: '818H' }]), bc, bc] });
    expect(await codeOf(parseShakenCsr(twice))).toBe('CSR.MALFORMED');
  });
});
