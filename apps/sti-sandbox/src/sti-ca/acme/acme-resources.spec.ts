import { describe, expect, it } from 'vitest';
import type { AuthorizationRecord, OrderRecord } from '../../state/records.js';
import { authorizationStatus, orderStatus } from './acme-resources.js';

const now = new Date('2026-11-23T10:00:00Z');
const later = '2026-11-30T10:00:00.000Z';
const earlier = '2026-11-20T10:00:00.000Z';

function authz(challengeStatus: AuthorizationRecord['challenge']['status'], expires = later, deactivated = false): AuthorizationRecord {
  return {
    id: 'a',
    orderId: 'o',
    accountId: 'acct',
    identifier: { type: 'TNAuthList', value: 'MAigBhYEODE4SA' },
    tnAuthList: 'MAigBhYEODE4SA',
    expires,
    challenge: { id: 'c', token: 't', status: challengeStatus, attempts: 0 },
    ...(deactivated ? { deactivated } : {}),
  };
}

function order(finalization: OrderRecord['finalization'] = 'none', expires = later): OrderRecord {
  return {
    id: 'o',
    accountId: 'acct',
    createdAt: earlier,
    expires,
    identifiers: [{ type: 'TNAuthList', value: 'MAigBhYEODE4SA' }],
    tnAuthList: 'MAigBhYEODE4SA',
    spc: '818H',
    authorizationIds: ['a'],
    finalization,
  };
}

describe('RFC 8555 §7.1.6 status derivation', () => {
  it('derives authorization status from its challenge, expiry and deactivation', () => {
    expect(authorizationStatus(authz('pending'), now)).toBe('pending');
    expect(authorizationStatus(authz('processing'), now)).toBe('pending');
    expect(authorizationStatus(authz('valid'), now)).toBe('valid');
    expect(authorizationStatus(authz('invalid'), now)).toBe('invalid');
    expect(authorizationStatus(authz('valid', earlier), now)).toBe('expired');
    expect(authorizationStatus(authz('valid', later, true), now)).toBe('deactivated');
  });

  it('derives order status: pending → ready → processing → valid, invalid on any failure', () => {
    expect(orderStatus(order(), [authz('pending')], now)).toBe('pending');
    expect(orderStatus(order(), [authz('valid')], now)).toBe('ready');
    expect(orderStatus(order('processing'), [authz('valid')], now)).toBe('processing');
    expect(orderStatus(order('valid'), [authz('valid')], now)).toBe('valid');
    expect(orderStatus(order(), [authz('invalid')], now)).toBe('invalid');
    expect(orderStatus(order('invalid'), [authz('valid')], now)).toBe('invalid');
    expect(orderStatus(order('none', earlier), [authz('pending')], now)).toBe('invalid');
    expect(orderStatus(order('valid', earlier), [authz('valid', earlier)], now)).toBe('valid');
  });
});
