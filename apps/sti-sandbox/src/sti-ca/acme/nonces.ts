import { randomBytes } from 'node:crypto';

/**
 * Anti-replay nonces (RFC 8555 §6.5): each one is accepted once. The newest ones are kept; a
 * nonce that fell out, was used, or comes from before a restart is refused with `badNonce`, which
 * clients must handle by retrying with the fresh nonce from the error response.
 */
export class NonceService {
  private readonly live = new Set<string>();

  constructor(private readonly capacity = 50_000) {}

  issue(): string {
    // RFC 8555 §6.5.1: base64url without padding; 128 bits cannot be guessed.
    const nonce = randomBytes(16).toString('base64url');
    this.live.add(nonce);
    if (this.live.size > this.capacity) {
      const oldest = this.live.values().next().value;
      if (oldest !== undefined) this.live.delete(oldest);
    }
    return nonce;
  }

  /** True when the nonce was live; it is used up either way. */
  consume(nonce: string): boolean {
    return this.live.delete(nonce);
  }
}
