import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '@app/db';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const repoMigrations = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));
const SEALING = sealingMigration();

function sealingMigration(): string {
  const found = readdirSync(repoMigrations).filter((name) => name.endsWith('_seal_spc_tokens'));
  if (found.length !== 1) throw new Error(`expected exactly one *_seal_spc_tokens migration in prisma/migrations, found ${found.length}`);
  return found[0]!;
}

/**
 * The migration that starts sealing SPC tokens cannot seal the clear ones already stored (SQL has
 * no key): it erases them and marks still-valid rows expired, so no clear bearer token survives
 * and none of those rows is ever reused; the next order fetches a fresh token.
 */
describe('migration seal_spc_tokens on a database with clear SPC tokens (integration)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let before: string;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
    before = mkdtempSync(join(tmpdir(), 'clm-migrations-'));
    for (const name of readdirSync(repoMigrations)) {
      if (name < SEALING) cpSync(join(repoMigrations, name), join(before, name), { recursive: true });
    }
    await applyMigrations(db.url, { migrationsDir: before });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    rmSync(before, { recursive: true, force: true });
    await db?.drop();
  });

  const spcTokenColumns = async (): Promise<string[]> =>
    (await client.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'spc_tokens'`)).rows.map((c) => c.column_name);

  it('erases clear tokens, expires the valid ones, keeps the rows and their other statuses', async () => {
    // The database really is the one before sealing: tokens in clear, no sealed column yet.
    const columnsBefore = await spcTokenColumns();
    expect(columnsBefore).toContain('token_jws');
    expect(columnsBefore).not.toContain('token_sealed');
    const one = async (sql: string, values: unknown[] = []) => (await client.query<{ id: string }>(sql, values)).rows[0]!.id;
    const provider = await one(`INSERT INTO providers (legal_name, frn, contact_email, updated_at) VALUES ('Old Telecom', '0000000001', 'noc@old.example', now()) RETURNING id`);
    const ocn = await one(`INSERT INTO ocns (code, provider_id) VALUES ('0LD1', $1) RETURNING id`, [provider]);
    const key = await one(`INSERT INTO private_keys (purpose, algorithm, public_key_spki, fingerprint, custody, sealed, kek_id)
      VALUES ('acme_account', 'ES256', '\\x00', repeat('a', 64), 'software', '\\x00', 'k') RETURNING id`);
    const ca = await one(`INSERT INTO sti_cas (name, directory_url, updated_at) VALUES ('Old CA', 'https://ca.example/dir', now()) RETURNING id`);
    const account = await one(`INSERT INTO acme_accounts (sti_ca_id, provider_id, key_id, updated_at) VALUES ($1, $2, $3, now()) RETURNING id`, [ca, provider, key]);
    const insertToken = (status: string) => one(
      `INSERT INTO spc_tokens (provider_id, ocn_id, acme_account_id, token_jws, jti, expires_at, fingerprint, status)
       VALUES ($1, $2, $3, 'eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiIxIn0.c2ln', 'jti', now() + interval '1 day', 'SHA256 00', $4::spc_token_status) RETURNING id`,
      [provider, ocn, account, status],
    );
    const valid = await insertToken('valid');
    const refused = await insertToken('refused');

    expect(await applyMigrations(db.url)).toContain(SEALING);

    const rows = (await client.query<{ id: string; status: string; token_sealed: Buffer | null }>(`SELECT id, status, token_sealed FROM spc_tokens`)).rows;
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.token_sealed]]))).toEqual({ [valid]: ['expired', null], [refused]: ['refused', null] });
    const columns = await spcTokenColumns();
    expect(columns).toContain('token_sealed');
    expect(columns).not.toContain('token_jws');
  });
});
