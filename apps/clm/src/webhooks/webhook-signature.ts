import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-clm-signature';

/**
 * The webhook signature (README "Webhooks"): HMAC-SHA256 keyed with the webhook's secret over
 * `<t>.<raw body>`, hex. Binding the timestamp into the MAC lets receivers refuse replays of an
 * old delivery (compare `t` with their clock, e.g. ±5 minutes) without a second header to trust.
 */
export function signWebhookBody(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

export interface SignatureCheck {
  /** Reject signatures whose `t` is further than this from `now` (replay window). */
  readonly toleranceSeconds: number;
  readonly now: Date;
}

/**
 * What a receiver does (exported for tests and for receivers written in TypeScript): parse the
 * header, recompute the MAC over the raw body, compare in constant time, check the timestamp.
 */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined, check: SignatureCheck): boolean {
  if (!header) return false;
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const [key, value] = item.trim().split('=', 2);
    if (!key || value === undefined) return false;
    parts.set(key, [...(parts.get(key) ?? []), value]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t)) return false;
  if (Math.abs(check.now.getTime() / 1000 - t) > check.toleranceSeconds) return false;
  const expected = Buffer.from(mac(secret, t, body), 'hex');
  // Several v1 values may appear while a secret is being rotated; any one matching is enough.
  return (parts.get('v1') ?? []).some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function mac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
}
