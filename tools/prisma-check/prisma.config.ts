// Prisma 6 CLI configuration for the offline migration tools. scripts/new-migration.js and
// scripts/check-migrations.js set the variables below and a throwaway database; run through them.
//
// Prisma 6.19 runs its schema engine as WASM over a JavaScript driver adapter (`engine: 'js'`),
// so `migrate diff` works with no engine binary. Three adapter traps are worked around here.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { ColumnTypeEnum, type SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { defineConfig } from 'prisma/config';

const url = process.env.PRISMA_CHECK_DATABASE_URL;
const schema = process.env.PRISMA_CHECK_SCHEMA;
const migrations = process.env.PRISMA_CHECK_MIGRATIONS;
if (!url || !schema || !migrations) throw new Error('run through scripts/new-migration.js or scripts/check-migrations.js');

// Trap 1 (Prisma bug 27403): the adapter has no mapping for the catalog types `name` (oid 19) and
// `"char"` (oid 18) that the schema describer selects, and fails with "Column type 'name' could
// not be deserialized". `name` is reported as text. `"char"` must reach the engine as a Character
// column (as text the describer panics on check constraints), which the adapter cannot express,
// so its columns are remembered per result (keyed by the rows array the adapter passes through)
// and re-typed after the adapter's queryRaw.
const OID_CHAR = 18;
const OID_NAME = 19;
const OID_TEXT = 25;
const charColumnsByRows = new WeakMap<unknown[], number[]>();
const addFields = pg.Result.prototype.addFields;
pg.Result.prototype.addFields = function (this: pg.Result, fields: pg.FieldDef[]) {
  const charColumns: number[] = [];
  fields.forEach((field, index) => {
    if (field.dataTypeID === OID_NAME) field.dataTypeID = OID_TEXT;
    if (field.dataTypeID === OID_CHAR) {
      field.dataTypeID = OID_TEXT;
      charColumns.push(index);
    }
  });
  if (charColumns.length > 0) charColumnsByRows.set(this.rows, charColumns);
  return addFields.call(this, fields);
};

// Trap 4: the adapter's executeScript splits a migration on every ";", including those inside
// comments and dollar-quoted function bodies, so `migrate deploy` breaks on the init migration's
// trigger function. The native engine sends the script whole; so does this (one simple query,
// which PostgreSQL runs statement by statement).
interface PgAdapterInternals {
  underlyingDriver(): pg.Pool;
  onError(error: unknown): never;
}

function repair<T extends SqlDriverAdapter>(adapter: T): T {
  const queryRaw = adapter.queryRaw.bind(adapter);
  adapter.queryRaw = async (query) => {
    const result = await queryRaw(query);
    for (const index of charColumnsByRows.get(result.rows) ?? []) result.columnTypes[index] = ColumnTypeEnum.Character;
    return result;
  };
  const internals = adapter as unknown as PgAdapterInternals;
  adapter.executeScript = async (script) => {
    try {
      await internals.underlyingDriver().query(script);
    } catch (error) {
      internals.onError(error);
    }
  };
  return adapter;
}

// Trap 2: the stock adapter builds its shadow database config as `{ ...config, database }`, and pg
// lets a connectionString override `database`, so the "shadow" would silently be the main
// database. Discrete fields keep them apart.
// Trap 3: allowExitOnIdle, or the CLI lingers after finishing, waiting on idle pool clients.
const parsed = parse(url);
const connection: pg.PoolConfig = {
  host: parsed.host ?? '127.0.0.1',
  port: parsed.port ? Number(parsed.port) : 5432,
  user: parsed.user,
  password: parsed.password,
  database: parsed.database ?? 'postgres',
  allowExitOnIdle: true,
};

/**
 * Also replaces connectToShadowDb: the stock one drops the shadow database while its own pool
 * still holds a connection ("being accessed by other users") and leaves it behind. This one
 * closes the pool first and drops WITH (FORCE).
 */
class OfflinePg extends PrismaPg {
  override async connect() {
    return repair(await super.connect());
  }

  override async connectToShadowDb() {
    const admin = await this.connect();
    const name = `clm_shadow_${randomUUID().replaceAll('-', '')}`;
    await admin.executeScript(`CREATE DATABASE "${name}"`);
    const shadow = repair(await new PrismaPg({ ...connection, database: name }).connect());
    const closeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await closeShadow();
      await admin.executeScript(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.dispose();
    };
    return shadow;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema,
  migrations: { path: migrations },
  async adapter() {
    return new OfflinePg(connection);
  },
});
