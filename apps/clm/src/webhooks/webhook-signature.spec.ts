import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signature.js';

const secret = 'whsec_test_0123456789abcdef0123456789abcdef';
const body = '{"id":"e1","type":"certificate.revoked"}';
const at = new Date('2026-11-23T10:00:00.500Z');
const check = { toleranceSeconds: 300, now: at };

describe('webhook signature', () => {
  it('is HMAC-SHA256 over "<t>.<body>" with t in whole seconds', () => {
    const header = signWebhookBody(secret, body, at);
    const t = Math.floor(at.getTime() / 1000);
    expect(header).toBe(`t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`);
  });

  it('verifies what it signs', () => {
    expect(verifyWebhookSignature(secret, body, signWebhookBody(secret, body, at), check)).toBe(true);
  });

  it('refuses another body, another secret, a missing or garbled header', () => {
    const header = signWebhookBody(secret, body, at);
    expect(verifyWebhookSignature(secret, `${body} `, header, check)).toBe(false);
    expect(verifyWebhookSignature(`${secret}x`, body, header, check)).toBe(false);
    expect(verifyWebhookSignature(secret, body, undefined, check)).toBe(false);
    expect(verifyWebhookSignature(secret, body, 'v1=abc', check)).toBe(false);
    expect(verifyWebhookSignature(secret, body, header.replace(/v1=../, 'v1=zz'), check)).toBe(false);
  });

  it('refuses a timestamp outside the replay window, and a MAC moved to another timestamp', () => {
    const header = signWebhookBody(secret, body, at);
    expect(verifyWebhookSignature(secret, body, header, { toleranceSeconds: 300, now: new Date(at.getTime() + 301_000) })).toBe(false);
    const v1 = header.split('v1=')[1];
    const t = Math.floor(at.getTime() / 1000) + 1;
    expect(verifyWebhookSignature(secret, body, `t=${t},v1=${v1}`, check)).toBe(false);
  });

  it('accepts any of several v1 values (secret rotation)', () => {
    const header = signWebhookBody(secret, body, at);
    const t = Math.floor(at.getTime() / 1000);
    const other = createHmac('sha256', 'old-secret').update(`${t}.${body}`).digest('hex');
    expect(verifyWebhookSignature(secret, body, `t=${t},v1=${other},${header.split(',')[1]}`, check)).toBe(true);
  });
});
