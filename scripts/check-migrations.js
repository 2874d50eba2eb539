// npm run db:check: fails (exit 1) when prisma/schema.prisma and prisma/migrations describe
// different databases, printing the SQL that is missing from the migrations. Runs Prisma 6's
// offline schema engine (tools/prisma-check, installed on first use) on a throwaway database of the
// server given by DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres, else a
// temporary embedded PostgreSQL. Never touches the database the service uses.
import {
  diffMigrationsToSchema,
  ensureInstalled,
  withThrowawayDatabase,
} from '../tools/prisma-check/offline-prisma.mjs';

try {
  ensureInstalled();
  const { sql, differs } = await withThrowawayDatabase(diffMigrationsToSchema);
  if (differs) {
    console.error('db:check: prisma/schema.prisma and prisma/migrations differ.');
    console.error('Applying the migrations and then this SQL would give the database schema.prisma describes:\n');
    console.error(sql);
    console.error('\nWrite a migration for it: npm run db:new-migration -- <name>');
    process.exit(1);
  }
  console.log('db:check: prisma/schema.prisma and prisma/migrations agree.');
} catch (error) {
  console.error(`db:check: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
