import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSignerCredential, isSignerCredentialShape, newSignerCredential, signerCredentialFrom } from './signer-credential.js';

describe('signer credential', () => {
  it('is clm_signer_ and 256 random bits, different every time', () => {
    const a = newSignerCredential();
    const b = newSignerCredential();
    expect(a).toMatch(/^clm_signer_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice('clm_signer_'.length), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(isSignerCredentialShape(a)).toBe(true);
  });

  it('is stored as its lowercase hex SHA-256', () => {
    const credential = newSignerCredential();
    expect(hashSignerCredential(credential)).toBe(createHash('sha256').update(credential).digest('hex'));
    expect(hashSignerCredential(credential)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is read from one Bearer header only', () => {
    const credential = newSignerCredential();
    expect(signerCredentialFrom(`Bearer ${credential}`)).toBe(credential);
    expect(signerCredentialFrom(`bearer ${credential}`)).toBe(credential);
    expect(signerCredentialFrom(undefined)).toBeUndefined();
    expect(signerCredentialFrom(credential)).toBeUndefined();
    expect(signerCredentialFrom(`Basic ${credential}`)).toBeUndefined();
    expect(signerCredentialFrom(`Bearer ${credential} extra`)).toBeUndefined();
    expect(signerCredentialFrom([`Bearer ${credential}`, `Bearer ${credential}`])).toBeUndefined();
    expect(signerCredentialFrom(`Bearer clm_admin_${credential.slice(11)}`)).toBeUndefined();
    expect(signerCredentialFrom(`Bearer ${credential}x`)).toBeUndefined();
  });
});
