/**
 * Replay nonces (RFC 8555 §6.5) collected from every response, so most requests need no extra
 * newNonce round trip. Bounded: a nonce is single-use and servers expire old ones, so keeping many
 * only raises the badNonce rate.
 */
export class NoncePool {
  private readonly nonces: string[] = [];

  constructor(private readonly capacity = 8) {}

  add(nonce: string | null): void {
    // RFC 8555 §6.5.1: the Replay-Nonce value is base64url; anything else is ignored.
    if (!nonce || !/^[A-Za-z0-9_-]+$/.test(nonce)) return;
    this.nonces.push(nonce);
    if (this.nonces.length > this.capacity) this.nonces.shift();
  }

  /** The newest nonce (least likely to have expired on the server), or undefined. */
  take(): string | undefined {
    return this.nonces.pop();
  }

  get size(): number {
    return this.nonces.length;
  }
}
