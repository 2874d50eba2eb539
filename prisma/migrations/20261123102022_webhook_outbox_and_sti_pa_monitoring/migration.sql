-- Webhook outbox (delivery status, event id for receivers' deduplication) and the STI-PA
-- monitoring snapshots (CRL, approved CA list). The webhook tables hold no rows before this
-- feature, so event_id can be NOT NULL without a default.

-- CreateEnum
CREATE TYPE "webhook_delivery_status" AS ENUM ('pending', 'delivered', 'failed');

-- DropIndex
DROP INDEX "webhook_deliveries_delivered_at_next_attempt_at_idx";

-- DropIndex
DROP INDEX "webhook_deliveries_webhook_id_idx";

-- AlterTable
ALTER TABLE "webhook_deliveries" ADD COLUMN     "event_id" UUID NOT NULL,
ADD COLUMN     "last_status_code" INTEGER,
ADD COLUMN     "status" "webhook_delivery_status" NOT NULL DEFAULT 'pending';

-- CreateTable
CREATE TABLE "sti_pa_crls" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "url" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "this_update" TIMESTAMPTZ(3) NOT NULL,
    "next_update" TIMESTAMPTZ(3),
    "der" BYTEA NOT NULL,
    "signature_verified" BOOLEAN NOT NULL,
    "revoked_count" INTEGER NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),

    CONSTRAINT "sti_pa_crls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sti_pa_ca_lists" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "sti_pa_base_url" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "trust_list_pem" TEXT[],
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),

    CONSTRAINT "sti_pa_ca_lists_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "sti_pa_crls_url_key" ON "sti_pa_crls"("url");

-- CreateIndex
CREATE UNIQUE INDEX "sti_pa_ca_lists_sti_pa_base_url_key" ON "sti_pa_ca_lists"("sti_pa_base_url");

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_webhook_id_created_at_idx" ON "webhook_deliveries"("webhook_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_webhook_id_event_id_key" ON "webhook_deliveries"("webhook_id", "event_id");

-- A delivered row says when; a pending or failed one has no delivery time.
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_delivered_consistent"
  CHECK (("status" = 'delivered') = ("delivered_at" IS NOT NULL));
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_attempts_nonnegative" CHECK ("attempts" >= 0);
