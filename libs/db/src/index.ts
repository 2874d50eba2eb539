// @app/db: Prisma client, transactions, the migration runner and the embedded PostgreSQL.
// Prisma types stay behind services: controllers speak DTOs (ARCHITECTURE.md habit 10).
export { DbModule } from './db.module.js';
export { DB_OPTIONS, PrismaService, type DbModuleOptions, type TransactionOptions, type Tx } from './prisma.service.js';
export { applyMigrations, pendingMigrations, PRISMA_MIGRATION_LOCK, type MigrationOptions } from './migrations/migration-runner.js';
export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres.js';
export { childEnv } from './child-env.js';
export { DbError, isDbError, type DbErrorCode } from './errors.js';

export { Prisma } from './generated/prisma/client.js';
export * from './generated/prisma/enums.js';
export type {
  AcmeAccount,
  AdminToken,
  AuditEvent,
  Certificate,
  CertificateEvent,
  CertificateOrder,
  Csr,
  JobRun,
  Ocn,
  PrivateKey,
  Provider,
  Publication,
  SignerClient,
  SignerScope,
  SpcToken,
  StiCa,
  StiPaAccount,
  ThirdPartySigningArrangement,
  Webhook,
  WebhookDelivery,
} from './generated/prisma/client.js';
