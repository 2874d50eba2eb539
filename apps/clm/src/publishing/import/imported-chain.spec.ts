import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certificateChainToPem,
  createCaCertificate,
  type CryptoKeyPair,
  exportPrivateKeyPem,
  generateP256KeyPair,
  issueShakenCertificate,
  type X509Certificate,
} from '@app/shaken';
import { DomainError } from '../../common/domain-error.js';
import { examineImportedChain, matchingPkcs8 } from './imported-chain.js';

const DAY = 86_400_000;
const NOW = new Date('2026-11-23T12:00:00Z');
const CRL = { url: 'https://authenticate-api.iconectiv.com/download/v1/crl', issuerDn: 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA' };

let root: X509Certificate;
let intermediate: X509Certificate;
let intermediateKeys: CryptoKeyPair;

async function leafFor(spc: string, options: { keys?: CryptoKeyPair; subjectSerialNumber?: string | null } = {}): Promise<{ leaf: X509Certificate; keys: CryptoKeyPair }> {
  const keys = options.keys ?? (await generateP256KeyPair(true));
  const leaf = await issueShakenCertificate({
    issuer: { certificate: intermediate, privateKey: intermediateKeys.privateKey },
    subjectPublicKey: keys.publicKey,
    spc,
    legalName: 'Example Telecom LLC',
    notBefore: new Date(NOW.getTime() - DAY),
    notAfter: new Date(NOW.getTime() + 90 * DAY),
    crlUrl: CRL.url,
    crlIssuerDn: CRL.issuerDn,
    ...(options.subjectSerialNumber !== undefined ? { subjectSerialNumber: options.subjectSerialNumber } : {}),
  });
  return { leaf, keys };
}

function refusal(fn: () => unknown): { code: string; status: number; message: string; extensions: Readonly<Record<string, unknown>> } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    const e = error as DomainError;
    return { code: e.code, status: e.status, message: e.message, extensions: e.extensions };
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  const rootKeys = await generateP256KeyPair();
  intermediateKeys = await generateP256KeyPair();
  root = await createCaCertificate({ keys: rootKeys, subjectDn: 'C=US, O=Unit STI-CA, CN=Unit SHAKEN ROOT', notBefore: new Date(NOW.getTime() - 365 * DAY), notAfter: new Date(NOW.getTime() + 3650 * DAY) });
  intermediate = await createCaCertificate({
    keys: intermediateKeys,
    subjectDn: 'C=US, O=Unit STI-CA, CN=Unit SHAKEN Intermediate',
    notBefore: new Date(NOW.getTime() - 30 * DAY),
    notAfter: new Date(NOW.getTime() + 1825 * DAY),
    issuer: { certificate: root, privateKey: rootKeys.privateKey },
    crl: CRL,
  });
});

describe('examineImportedChain', () => {
  it('returns what the service stores: normalized PEM, fingerprints, serial, validity', async () => {
    const { leaf } = await leafFor('818H');
    // Text around and between the blocks is dropped from what will be published.
    const input = `issued by Unit STI-CA\r\n${leaf.toString('pem')}\n\n${intermediate.toString('pem')}\n`;
    const examined = examineImportedChain({ chainPem: input, spc: '818H', now: NOW });
    expect(examined.chainPem).toBe(certificateChainToPem([leaf, intermediate]));
    expect(examined.fingerprintSha256).toBe(createHash('sha256').update(new Uint8Array(leaf.rawData)).digest('hex'));
    expect(examined.publicKeyFingerprint).toBe(createHash('sha256').update(new Uint8Array(leaf.publicKey.rawData)).digest('hex'));
    expect(examined.notAfter).toEqual(leaf.notAfter);
    expect(examined.serial).toMatch(/^[0-9a-f]+$/);
    expect(examined.lintWarnings).toEqual([]);
  });

  it('accepts the chain with the root included', async () => {
    const { leaf } = await leafFor('818H');
    expect(examineImportedChain({ chainPem: certificateChainToPem([leaf, intermediate, root]), spc: '818H', now: NOW }).chainPem).toContain(root.toString('pem').split('\n')[1]);
  });

  it.each([
    ['intermediate first', 'IMPORT.CHAIN_ORDER'],
    ['intermediate only', 'IMPORT.CHAIN_ORDER'],
    ['foreign issuer', 'IMPORT.CHAIN_ORDER'],
  ])('refuses a chain out of verifier order (%s)', async (shape, code) => {
    const { leaf } = await leafFor('818H');
    const chains: Record<string, X509Certificate[]> = {
      'intermediate first': [intermediate, leaf],
      'intermediate only': [intermediate],
      'foreign issuer': [leaf, root],
    };
    expect(refusal(() => examineImportedChain({ chainPem: certificateChainToPem(chains[shape]!), spc: '818H', now: NOW })).code).toBe(code);
  });

  it('refuses another SPC, an expired or not yet valid certificate, and profile errors with the findings', async () => {
    const { leaf } = await leafFor('709J');
    const chainPem = certificateChainToPem([leaf, intermediate]);
    expect(refusal(() => examineImportedChain({ chainPem, spc: '818H', now: NOW }))).toMatchObject({ status: 422, code: 'CERT.TN_AUTH_LIST_MISMATCH', message: expect.stringContaining('818H') });
    expect(refusal(() => examineImportedChain({ chainPem, spc: '709J', now: new Date(NOW.getTime() + 91 * DAY) })).code).toBe('CERT.EXPIRED');
    expect(refusal(() => examineImportedChain({ chainPem, spc: '709J', now: new Date(NOW.getTime() - 2 * DAY) })).code).toBe('CERT.NOT_YET_VALID');

    const { leaf: noSerial } = await leafFor('709J', { subjectSerialNumber: null });
    const lint = refusal(() => examineImportedChain({ chainPem: certificateChainToPem([noSerial, intermediate]), spc: '709J', now: NOW }));
    expect(lint.code).toBe('CERT.LINT_FAILED');
    expect((lint.extensions.findings as { code: string }[]).map((f) => f.code)).toEqual(['e_us_cp_subject_sn_shall']);
  });

  it('refuses a private key in the chain without quoting it', async () => {
    const { leaf, keys } = await leafFor('818H');
    const keyPem = await exportPrivateKeyPem(keys.privateKey, 'sec1');
    const found = refusal(() => examineImportedChain({ chainPem: certificateChainToPem([leaf, intermediate]) + keyPem, spc: '818H', now: NOW }));
    expect(found.code).toBe('IMPORT.PRIVATE_KEY_IN_CHAIN');
    expect(found.message).not.toContain(keyPem.split('\n')[1]);
  });

  it('refuses a chain an x5u cannot carry (8 KB or more), even in perfect order', async () => {
    // A long but valid path: intermediate → 11 more CAs, each issued by the one before.
    let issuer = { certificate: intermediate, privateKey: intermediateKeys.privateKey };
    const cas: X509Certificate[] = [intermediate];
    for (let i = 0; i < 11; i++) {
      const keys = await generateP256KeyPair();
      const certificate = await createCaCertificate({
        keys, subjectDn: `C=US, O=Unit STI-CA, CN=Unit SHAKEN Sub ${i}`, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 365 * DAY), issuer, crl: CRL,
      });
      cas.unshift(certificate);
      issuer = { certificate, privateKey: keys.privateKey };
    }
    const keys = await generateP256KeyPair(true);
    const leaf = await issueShakenCertificate({
      issuer, subjectPublicKey: keys.publicKey, spc: '818H', legalName: 'Example Telecom LLC',
      notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 90 * DAY), crlUrl: CRL.url, crlIssuerDn: CRL.issuerDn,
    });
    const chainPem = certificateChainToPem([leaf, ...cas]);
    expect(Buffer.byteLength(chainPem)).toBeGreaterThanOrEqual(8192);
    expect(refusal(() => examineImportedChain({ chainPem, spc: '818H', now: NOW })).code).toBe('STORAGE.TOO_LARGE');
    // Without the last few CAs it fits.
    expect(examineImportedChain({ chainPem: certificateChainToPem([leaf, ...cas.slice(0, 6)]), spc: '818H', now: NOW }).fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('matchingPkcs8', () => {
  it('returns the PKCS#8 of the key the leaf certifies, from SEC1 or PKCS#8 PEM', async () => {
    const { leaf, keys } = await leafFor('818H');
    for (const format of ['sec1', 'pkcs8'] as const) {
      const der = await matchingPkcs8(leaf, await exportPrivateKeyPem(keys.privateKey, format));
      const reimported = await globalThis.crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
      const signature = await globalThis.crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, reimported, new Uint8Array([1, 2, 3]));
      expect(await globalThis.crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys.publicKey, signature, new Uint8Array([1, 2, 3]))).toBe(true);
    }
  });

  it('refuses another key and an unreadable one, quoting neither', async () => {
    const { leaf } = await leafFor('818H');
    const other = await exportPrivateKeyPem((await generateP256KeyPair(true)).privateKey, 'pkcs8');
    await expect(matchingPkcs8(leaf, other)).rejects.toMatchObject({ code: 'CERT.KEY_MISMATCH', status: 422 });
    const garbled = other.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    const error = await matchingPkcs8(leaf, garbled).catch((e: unknown) => e as DomainError);
    expect(error).toMatchObject({ status: 422, code: expect.stringMatching(/^KEY\./) });
    expect(String((error as Error).message)).not.toContain(other.split('\n')[1]!.slice(0, 20));
  });
});
