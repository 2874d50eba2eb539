import { describe, expect, it } from 'vitest';
import { NonceService } from './nonces.js';

describe('NonceService (RFC 8555 §6.5)', () => {
  it('accepts each nonce once, in base64url without padding', () => {
    const nonces = new NonceService();
    const nonce = nonces.issue();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(nonces.consume(nonce)).toBe(true);
    expect(nonces.consume(nonce)).toBe(false);
    expect(nonces.consume('made-up')).toBe(false);
  });

  it('forgets the oldest nonces beyond its capacity', () => {
    const nonces = new NonceService(2);
    const [a, b, c] = [nonces.issue(), nonces.issue(), nonces.issue()];
    expect(nonces.consume(a)).toBe(false);
    expect(nonces.consume(b)).toBe(true);
    expect(nonces.consume(c)).toBe(true);
  });
});
