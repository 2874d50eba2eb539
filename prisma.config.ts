// Prisma 7 CLI configuration. Here it serves `prisma generate` (scripts/prisma-generate.js) and,
// on a machine with Prisma's engine binaries, `prisma migrate status|deploy`, which agree with
// the service's own runner (libs/db) because both use prisma/migrations and _prisma_migrations.
// Offline authoring and the drift check use tools/prisma-check (Prisma 6, WASM engine) instead.
import { defineConfig } from 'prisma/config';

const url = process.env.DATABASE_URL;

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // Prisma 7 takes the connection from here, not from schema.prisma; generate needs none.
  ...(url ? { datasource: { url } } : {}),
});
