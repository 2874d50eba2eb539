import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assertPublishableChain, MAX_STI_CR_BODY_BYTES } from './sti-cr-body.js';
import { StorageError } from './storage-error.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'latin1');
const chain = fixture('chain.pem');
const leaf = fixture('leaf.pem');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

// Throwaway keys made for this run: real key material, nothing secret committed.
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sec1Pem = ec.privateKey.export({ format: 'pem', type: 'sec1' }) as string;
const pkcs8Pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const encryptedPem = ec.privateKey.export({
  format: 'pem',
  type: 'pkcs8',
  cipher: 'aes-256-cbc',
  passphrase: 'fixture passphrase',
}) as string;
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
const spkiPem = ec.publicKey.export({ format: 'pem', type: 'spki' }) as string;

function refusal(body: Uint8Array): StorageError {
  try {
    assertPublishableChain(body);
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a StorageError, the body was accepted');
}

/** A base64 body line of `pem`, to prove messages never carry key material. */
function secretLine(pem: string): string {
  return pem.split('\n')[1]!;
}

/** `pem` with its base64 content moved under a CERTIFICATE label. */
function relabelledAsCertificate(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '-----$1 CERTIFICATE-----');
}

describe('assertPublishableChain accepts certificate chains', () => {
  it('accepts the leaf-then-intermediate chain OpenSSL made, counting its certificates', () => {
    expect(assertPublishableChain(bytes(chain))).toBe(2);
    expect(new X509Certificate(chain).subject).toContain('SHAKEN 818H');
  });

  it('accepts a single certificate and CRLF line endings', () => {
    expect(assertPublishableChain(bytes(leaf))).toBe(1);
    expect(assertPublishableChain(bytes(chain.replace(/\n/g, '\r\n')))).toBe(2);
  });

  it('accepts a body of exactly 8191 bytes and refuses one of 8192 (under 8 KB)', () => {
    const padded = (size: number) => bytes(chain + '\n'.repeat(size - chain.length));
    expect(MAX_STI_CR_BODY_BYTES).toBe(8191);
    expect(assertPublishableChain(padded(8191))).toBe(2);
    const error = refusal(padded(8192));
    expect(error.code).toBe('STORAGE.TOO_LARGE');
    expect(error.message).toContain('8192 bytes');
  });
});

describe('assertPublishableChain never lets a private key through', () => {
  it.each([
    ['a SEC1 EC key after the chain', () => chain + sec1Pem],
    ['a PKCS#8 key before the chain', () => pkcs8Pem + chain],
    ['an encrypted PKCS#8 key', () => chain + encryptedPem],
    ['a PKCS#1 RSA key', () => chain + rsaPem],
    ['an OpenSSH key label', () => `${chain}-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n`],
  ])('refuses %s as PRIVATE_KEY_REFUSED without echoing it', (_label, make) => {
    const body = make();
    const error = refusal(bytes(body));
    expect(error.code).toBe('STORAGE.PRIVATE_KEY_REFUSED');
    expect(error.retryable).toBe(false);
    for (const pem of [sec1Pem, pkcs8Pem, encryptedPem, rsaPem]) expect(error.message).not.toContain(secretLine(pem));
  });

  it.each([
    ['SEC1', () => sec1Pem],
    ['PKCS#8', () => pkcs8Pem],
    ['PKCS#1 RSA', () => rsaPem],
  ])('recognises a %s key relabelled as CERTIFICATE by its DER shape', (_label, make) => {
    const error = refusal(bytes(chain + relabelledAsCertificate(make())));
    expect(error.code).toBe('STORAGE.PRIVATE_KEY_REFUSED');
    expect(error.message).toContain('block 3');
  });

  it('reports the key even when the body is also too large', () => {
    expect(refusal(bytes(chain + sec1Pem + '\n'.repeat(9000))).code).toBe('STORAGE.PRIVATE_KEY_REFUSED');
    expect(refusal(bytes(chain + '\n'.repeat(9000))).code).toBe('STORAGE.TOO_LARGE');
  });
});

describe('assertPublishableChain refuses what is not a PEM certificate chain', () => {
  it.each([
    ['empty', ''],
    ['leading whitespace', `\n${chain}`],
    ['a UTF-8 byte order mark', `\u00ef\u00bb\u00bf${chain}`],
    ['explanatory text first (RFC 7468 allows it, verifiers do not)', `subject=CN = SHAKEN 818H\n${chain}`],
    ['text after the last block', `${chain}trailing`],
    ['a PUBLIC KEY block', chain + spkiPem],
    ['a PUBLIC KEY relabelled as CERTIFICATE', chain + relabelledAsCertificate(spkiPem)],
    ['a missing END line', chain.slice(0, chain.lastIndexOf('-----END'))],
    ['broken base64', chain.replace(/^(MII.)/m, '$1*')],
    ['HTML (an error page)', '<html><body>Not Found</body></html>'],
  ])('refuses %s as NOT_A_CHAIN', (_label, body) => {
    expect(refusal(bytes(body)).code).toBe('STORAGE.NOT_A_CHAIN');
  });

  it('refuses DER (binary) certificates: x5u carries PEM', () => {
    const der = new X509Certificate(leaf).raw;
    expect(refusal(new Uint8Array(der)).code).toBe('STORAGE.NOT_A_CHAIN');
  });

  it('refuses a certificate block whose DER is cut short', () => {
    const lines = leaf.trimEnd().split('\n');
    const cut = [...lines.slice(0, 3), lines.at(-1)!].join('\n') + '\n';
    expect(refusal(bytes(cut)).code).toBe('STORAGE.NOT_A_CHAIN');
  });

  it('refuses values that are not bytes', () => {
    expect(refusal(chain as unknown as Uint8Array).code).toBe('STORAGE.NOT_A_CHAIN');
  });
});
