import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { SandboxStore } from '../state/sandbox-store.js';
import type { StiPaUserRecord } from '../state/records.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/**
 * The STI-PA's API users and the OCNs their companies hold. Passwords are kept as scrypt hashes.
 * A fresh data directory is seeded with the documented demo user.
 */
export const DEMO_USERS: readonly { userId: string; password: string; ocns: string[]; caTokens: boolean }[] = [
  { userId: 'demo', password: 'demo-password', ocns: ['818H', '709J'], caTokens: true },
];

const OCN = /^[0-9A-Z]{4}$/;

export class StiPaUserError extends Error {
  override readonly name = 'StiPaUserError';
}

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
}

// Compared against when the user id is unknown, so that timing does not reveal which ids exist.
const DUMMY_HASH = `scrypt$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

export class StiPaUsers {
  constructor(private readonly store: SandboxStore) {}

  async seedDemoUsers(): Promise<void> {
    if (this.store.state.users.length > 0) return;
    for (const demo of DEMO_USERS) await this.add(demo.userId, demo.password, demo.ocns, demo.caTokens);
  }

  /** The user when id and password match, otherwise undefined (no hint which one was wrong). */
  async authenticate(userId: string, password: string): Promise<StiPaUserRecord | undefined> {
    const user = this.find(userId);
    const ok = await passwordMatches(password, user?.passwordHash ?? DUMMY_HASH);
    return ok ? user : undefined;
  }

  find(userId: string): StiPaUserRecord | undefined {
    return this.store.state.users.find((user) => user.userId === userId);
  }

  list(): { userId: string; ocns: string[]; caTokens: boolean }[] {
    return this.store.state.users.map((user) => ({ userId: user.userId, ocns: [...user.ocns], caTokens: user.caTokens }));
  }

  /** Adds a user, or replaces the password and OCNs of an existing one. */
  async add(userId: string, password: string, ocns: readonly string[], caTokens = false): Promise<void> {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(userId)) throw new StiPaUserError('userId must be 1-64 letters, digits or ._@-');
    if (password.length < 8) throw new StiPaUserError('password must be at least 8 characters');
    const bad = ocns.filter((ocn) => !OCN.test(ocn));
    if (bad.length > 0) throw new StiPaUserError(`OCNs are 4 digits or uppercase letters: ${bad.join(', ')}`);
    const passwordHash = await hashPassword(password);
    await this.store.update((state) => {
      const record: StiPaUserRecord = { userId, passwordHash, ocns: [...new Set(ocns)], caTokens, createdAt: new Date().toISOString() };
      const index = state.users.findIndex((user) => user.userId === userId);
      if (index >= 0) state.users[index] = record;
      else state.users.push(record);
    });
  }
}
