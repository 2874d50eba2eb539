import type pg from 'pg';

/** The order transitions a procured certificate's timeline holds (procurement's events, in order). */
const ORDER_EVENTS = [
  'order.key_generated', 'order.account_ready', 'order.token_obtained', 'order.order_created', 'order.challenge_answered',
  'order.finalized', 'order.downloaded', 'order.checked', 'order.published', 'order.active',
];

export interface SyntheticCertificatesInput {
  /** OCN codes, one active certificate each; none may exist yet. */
  readonly ocns: readonly string[];
  /** The STI-CA the certificates are from (a registered one). */
  readonly stiCaId: string;
  /** KEK id the sealed key blobs claim (the keystore's current one). */
  readonly kekId: string;
  /** A real issued chain, stored as every synthetic certificate's chain so rows have real width. */
  readonly chainPem: string;
  /** Where x5u URLs point (the STI-CR base URL). */
  readonly x5uBase: string;
  /** OCNs per synthetic provider. */
  readonly ocnsPerProvider?: number;
}

/**
 * Bulk-inserts (one INSERT ... SELECT per table, in one transaction) active certificates that
 * look like procured ones to the renewal scan: the same tables, columns and indexes — provider,
 * OCN, sealed-key row, certificate (issued fields, x5u, renewAt one third of a 90-day life before
 * notAfter, all in the future), its `issue` order in state `active` and its ten order events.
 * They were never issued by a CA and their key blobs are random bytes: they exist to be scanned
 * past, never renewed or signed with.
 */
export async function insertSyntheticCertificates(sql: pg.Client, input: SyntheticCertificatesInput): Promise<number> {
  const perProvider = input.ocnsPerProvider ?? 5;
  await sql.query('BEGIN');
  try {
    await sql.query(
      `CREATE TEMP TABLE bench_seed ON COMMIT DROP AS
       SELECT u.code, u.ord, gen_random_uuid() AS provider_slot, gen_random_uuid() AS ocn_id, gen_random_uuid() AS key_id,
              gen_random_uuid() AS certificate_id,
              date_trunc('milliseconds', now() - random() * interval '59 days') AS not_before
         FROM unnest($1::text[]) WITH ORDINALITY AS u(code, ord)`,
      [input.ocns],
    );
    // One provider per `perProvider` OCNs; FRNs above 9e9 stay clear of the real onboarding's.
    await sql.query(
      `CREATE TEMP TABLE bench_providers ON COMMIT DROP AS
       SELECT g AS slot, gen_random_uuid() AS id FROM generate_series(0, (SELECT (max(ord) - 1) / $1 FROM bench_seed)) g`,
      [perProvider],
    );
    await sql.query(
      `INSERT INTO providers (id, legal_name, frn, filer_499_id, rmd_number, contact_email, updated_at)
       SELECT id, 'Bench Carrier ' || slot, (9000000000 + slot)::text, lpad((slot % 1000000)::text, 6, '0'),
              'RMD' || lpad(slot::text, 7, '0'), 'stir-shaken@carrier' || slot || '.example', now()
         FROM bench_providers`,
    );
    await sql.query(
      `INSERT INTO ocns (id, code, provider_id)
       SELECT s.ocn_id, s.code, p.id FROM bench_seed s JOIN bench_providers p ON p.slot = (s.ord - 1) / $1`,
      [perProvider],
    );
    // A P-256 SubjectPublicKeyInfo (fixed 26-byte header, 0x04, 64 random bytes) and a sealed
    // blob of the size the keystore writes; fingerprint = SHA-256 of the SPKI, as for real keys.
    await sql.query(
      `INSERT INTO private_keys (id, purpose, algorithm, public_key_spki, fingerprint, sealed, kek_id, created_at)
       SELECT key_id, 'certificate', 'ES256', spki, encode(sha256(spki), 'hex'), sealed, $1, not_before
         FROM (SELECT key_id, not_before,
                      '\\x3059301306072a8648ce3d020106082a8648ce3d03010703420004'::bytea
                        || decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS spki,
                      decode(repeat(md5(random()::text), 10), 'hex') AS sealed
                 FROM bench_seed) k`,
      [input.kekId],
    );
    await sql.query(
      `INSERT INTO certificates (id, provider_id, ocn_id, sti_ca_id, key_id, serial, fingerprint_sha256, subject, not_before, not_after,
                                 chain_pem, status, x5u, renew_at, activated_at, created_at, updated_at)
       SELECT s.certificate_id, p.id, s.ocn_id, $1::uuid, s.key_id, substr(md5(random()::text), 1, 32),
              encode(sha256(s.certificate_id::text::bytea), 'hex'), 'CN=SHAKEN ' || s.code || ',O=Bench Carrier ' || p.slot || ',C=US',
              s.not_before, s.not_before + interval '90 days', $2, 'active',
              $3 || '/' || s.code || '/' || s.certificate_id || '.pem', s.not_before + interval '60 days',
              s.not_before + interval '20 seconds', s.not_before, s.not_before + interval '20 seconds'
         FROM bench_seed s JOIN bench_providers p ON p.slot = (s.ord - 1) / $4`,
      [input.stiCaId, input.chainPem, input.x5uBase, perProvider],
    );
    await sql.query(
      `INSERT INTO certificate_orders (certificate_id, kind, state, acme_order_url, next_attempt_at, created_at, updated_at)
       SELECT certificate_id, 'issue', 'active', 'https://sti-ca.example/acme/order/' || certificate_id, not_before, not_before, not_before + interval '20 seconds'
         FROM bench_seed`,
    );
    await sql.query(
      `INSERT INTO certificate_events (certificate_id, at, type, details)
       SELECT s.certificate_id, s.not_before + e.n * interval '2 seconds', e.type, '{}'::jsonb
         FROM bench_seed s CROSS JOIN unnest($1::text[]) WITH ORDINALITY AS e(type, n)`,
      [ORDER_EVENTS],
    );
    const { rows } = await sql.query<{ n: string }>('SELECT count(*) AS n FROM bench_seed');
    await sql.query('COMMIT');
    return Number(rows[0]!.n);
  } catch (error) {
    await sql.query('ROLLBACK');
    throw error;
  }
}
