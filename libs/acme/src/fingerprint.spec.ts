import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { jwkThumbprint as shakenJwkThumbprint, stiPaFingerprint } from '@app/shaken';
import { describe, expect, it } from 'vitest';
import { accountKeyFingerprint } from './fingerprint.js';
import { exportPublicJwk, jwkThumbprint } from './jws.js';

const subtle = webcrypto.subtle;

/** Runs openssl with `input` on stdin and returns stdout. */
function openssl(args: string[], input: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    child.stdin?.end(input);
  });
}

describe('SPC token fingerprint of the ACME account key', () => {
  it('SPKI form equals OpenSSL\'s colon-separated SHA-256 of the DER SubjectPublicKeyInfo', async () => {
    const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const spki = Buffer.from(await subtle.exportKey('spki', keys.publicKey));
    // `openssl dgst -sha256 -c` prints e.g. "SHA2-256(stdin)= ab:cd:..." in lowercase.
    const out = await openssl(['dgst', '-sha256', '-c'], spki);
    const hex = (out.split('= ')[1] ?? '').trim().toUpperCase();
    expect(hex).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    expect(await accountKeyFingerprint(keys.publicKey, 'spki', subtle)).toBe(`SHA256 ${hex}`);
  });

  it('jwk_thumbprint form is the RFC 7638 thumbprint', async () => {
    const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const thumbprint = await accountKeyFingerprint(keys.publicKey, 'jwk_thumbprint', subtle);
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(thumbprint).toBe(await jwkThumbprint(await exportPublicJwk(keys.publicKey, subtle)));
  });

  it('is what @app/shaken computes, the code the STI-CA side compares against', async () => {
    const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    expect(await accountKeyFingerprint(keys.publicKey, 'spki', subtle)).toBe(await stiPaFingerprint(keys.publicKey));
    expect(await accountKeyFingerprint(keys.publicKey, 'jwk_thumbprint', subtle)).toBe(await shakenJwkThumbprint(keys.publicKey));
  });

  it('refuses an unknown form', async () => {
    const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    await expect(accountKeyFingerprint(keys.publicKey, 'sha1' as never, subtle)).rejects.toMatchObject({ code: 'ACME.INVALID_ARGUMENT' });
  });

  it('differs between two keys', async () => {
    const a = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const b = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    expect(await accountKeyFingerprint(a.publicKey, 'spki', subtle)).not.toBe(await accountKeyFingerprint(b.publicKey, 'spki', subtle));
  });
});
