-- CreateEnum
CREATE TYPE "sti_pa_environment" AS ENUM ('sandbox', 'staging', 'production');

-- CreateEnum
CREATE TYPE "identifier_encoding" AS ENUM ('base64url', 'base64');

-- CreateEnum
CREATE TYPE "fingerprint_form" AS ENUM ('spki', 'jwk_thumbprint');

-- CreateEnum
CREATE TYPE "key_rotation" AS ENUM ('always', 'never');

-- CreateEnum
CREATE TYPE "acme_account_status" AS ENUM ('pending', 'valid', 'deactivated', 'revoked');

-- CreateEnum
CREATE TYPE "spc_token_status" AS ENUM ('valid', 'expired', 'refused', 'revoked');

-- CreateEnum
CREATE TYPE "key_purpose" AS ENUM ('certificate', 'acme_account');

-- CreateEnum
CREATE TYPE "key_custody" AS ENUM ('software', 'pkcs11');

-- CreateEnum
CREATE TYPE "certificate_status" AS ENUM ('requested', 'ordering', 'issued', 'checked', 'publishing', 'published', 'active', 'superseded', 'expired', 'revoked', 'failed');

-- CreateEnum
CREATE TYPE "certificate_order_kind" AS ENUM ('issue', 'renew');

-- CreateEnum
CREATE TYPE "certificate_order_state" AS ENUM ('key_generated', 'account_ready', 'token_obtained', 'order_created', 'challenge_answered', 'finalized', 'downloaded', 'checked', 'published', 'active', 'failed');

-- CreateEnum
CREATE TYPE "admin_role" AS ENUM ('admin', 'compliance', 'auditor');

-- CreateEnum
CREATE TYPE "audit_actor_type" AS ENUM ('admin', 'signer', 'system');

-- CreateTable
CREATE TABLE "providers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "legal_name" TEXT NOT NULL,
    "frn" VARCHAR(10) NOT NULL,
    "filer_499_id" VARCHAR(6),
    "rmd_number" TEXT,
    "contact_email" TEXT NOT NULL,
    "contacts" JSONB,
    "token_refused_at" TIMESTAMPTZ(3),
    "token_refused_reason" TEXT,
    "signing_suspended_at" TIMESTAMPTZ(3),
    "signing_suspended_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "providers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ocns" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "code" VARCHAR(4) NOT NULL,
    "provider_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ocns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sti_pa_accounts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" UUID NOT NULL,
    "environment" "sti_pa_environment" NOT NULL,
    "base_url" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "password_sealed" BYTEA NOT NULL,
    "last_login_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sti_pa_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sti_cas" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "directory_url" TEXT NOT NULL,
    "eab_kid" TEXT,
    "eab_hmac_sealed" BYTEA,
    "identifier_encoding" "identifier_encoding" NOT NULL DEFAULT 'base64url',
    "fingerprint_form" "fingerprint_form" NOT NULL DEFAULT 'spki',
    "trust_anchors_pem" TEXT,
    "validity_days" INTEGER,
    "renew_before_days" INTEGER,
    "key_rotation" "key_rotation" NOT NULL DEFAULT 'always',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sti_cas_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "acme_accounts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "sti_ca_id" UUID NOT NULL,
    "provider_id" UUID NOT NULL,
    "account_url" TEXT,
    "key_id" UUID NOT NULL,
    "status" "acme_account_status" NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "acme_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "spc_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" UUID NOT NULL,
    "ocn_id" UUID NOT NULL,
    "sti_pa_account_id" UUID,
    "acme_account_id" UUID NOT NULL,
    "token_jws" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "crl_url" TEXT,
    "ca" BOOLEAN NOT NULL DEFAULT false,
    "fingerprint" TEXT NOT NULL,
    "status" "spc_token_status" NOT NULL DEFAULT 'valid',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "spc_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "private_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "purpose" "key_purpose" NOT NULL,
    "algorithm" TEXT NOT NULL,
    "public_key_spki" BYTEA NOT NULL,
    "fingerprint" VARCHAR(64) NOT NULL,
    "sealed" BYTEA,
    "kek_id" TEXT,
    "custody" "key_custody" NOT NULL DEFAULT 'software',
    "pkcs11_uri" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "destroyed_at" TIMESTAMPTZ(3),

    CONSTRAINT "private_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "csrs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "key_id" UUID NOT NULL,
    "der" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "csrs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "certificates" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" UUID NOT NULL,
    "ocn_id" UUID NOT NULL,
    "sti_ca_id" UUID NOT NULL,
    "key_id" UUID NOT NULL,
    "serial" TEXT,
    "fingerprint_sha256" VARCHAR(64),
    "subject" TEXT,
    "not_before" TIMESTAMPTZ(3),
    "not_after" TIMESTAMPTZ(3),
    "chain_pem" TEXT,
    "status" "certificate_status" NOT NULL DEFAULT 'requested',
    "x5u" TEXT,
    "renew_before_days" INTEGER,
    "key_rotation" "key_rotation",
    "validity_days" INTEGER,
    "renew_at" TIMESTAMPTZ(3),
    "renewed_from_id" UUID,
    "activated_at" TIMESTAMPTZ(3),
    "superseded_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "revocation_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "certificates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "certificate_orders" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "certificate_id" UUID NOT NULL,
    "kind" "certificate_order_kind" NOT NULL,
    "state" "certificate_order_state" NOT NULL DEFAULT 'key_generated',
    "spc_token_id" UUID,
    "acme_order_url" TEXT,
    "finalize_url" TEXT,
    "certificate_url" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_error_code" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_by" TEXT,
    "locked_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "certificate_orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "certificate_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "certificate_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "certificate_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "publications" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "certificate_id" UUID NOT NULL,
    "driver" TEXT NOT NULL,
    "storage_key" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "published_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "remove_after" TIMESTAMPTZ(3) NOT NULL,
    "removed_at" TIMESTAMPTZ(3),
    "last_check_at" TIMESTAMPTZ(3),
    "last_check_ok" BOOLEAN,
    "last_check_findings" JSONB,

    CONSTRAINT "publications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "signer_clients" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "credential_hash" VARCHAR(64) NOT NULL,
    "disabled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3),

    CONSTRAINT "signer_clients_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "signer_scopes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "signer_id" UUID NOT NULL,
    "ocn_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signer_scopes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "third_party_signing_arrangements" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "provider_id" UUID NOT NULL,
    "party_name" TEXT NOT NULL,
    "signer_client_id" UUID,
    "effective_from" TIMESTAMPTZ(3) NOT NULL,
    "effective_until" TIMESTAMPTZ(3),
    "details" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "third_party_signing_arrangements_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhooks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "url" TEXT NOT NULL,
    "secret_sealed" BYTEA NOT NULL,
    "events" TEXT[],
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "webhook_id" UUID NOT NULL,
    "event" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "admin_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "role" "admin_role" NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "admin_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_type" "audit_actor_type" NOT NULL,
    "actor_id" TEXT,
    "action" TEXT NOT NULL,
    "subject_type" TEXT,
    "subject_id" TEXT,
    "details" JSONB,
    "correlation_id" TEXT,
    "source_address" TEXT,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "job" TEXT NOT NULL,
    "instance" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "ok" BOOLEAN,
    "summary" JSONB,
    "error" TEXT,

    CONSTRAINT "job_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "providers_frn_key" ON "providers"("frn");

-- CreateIndex
CREATE UNIQUE INDEX "ocns_code_key" ON "ocns"("code");

-- CreateIndex
CREATE INDEX "ocns_provider_id_idx" ON "ocns"("provider_id");

-- CreateIndex
CREATE UNIQUE INDEX "sti_pa_accounts_provider_id_key" ON "sti_pa_accounts"("provider_id");

-- CreateIndex
CREATE UNIQUE INDEX "sti_cas_name_key" ON "sti_cas"("name");

-- CreateIndex
CREATE UNIQUE INDEX "acme_accounts_key_id_key" ON "acme_accounts"("key_id");

-- CreateIndex
CREATE INDEX "acme_accounts_provider_id_idx" ON "acme_accounts"("provider_id");

-- CreateIndex
CREATE UNIQUE INDEX "acme_accounts_sti_ca_id_provider_id_key" ON "acme_accounts"("sti_ca_id", "provider_id");

-- CreateIndex
CREATE INDEX "spc_tokens_acme_account_id_ocn_id_status_expires_at_idx" ON "spc_tokens"("acme_account_id", "ocn_id", "status", "expires_at");

-- CreateIndex
CREATE INDEX "spc_tokens_provider_id_idx" ON "spc_tokens"("provider_id");

-- CreateIndex
CREATE INDEX "spc_tokens_jti_idx" ON "spc_tokens"("jti");

-- CreateIndex
CREATE UNIQUE INDEX "private_keys_fingerprint_key" ON "private_keys"("fingerprint");

-- CreateIndex
CREATE INDEX "csrs_key_id_idx" ON "csrs"("key_id");

-- CreateIndex
CREATE UNIQUE INDEX "certificates_fingerprint_sha256_key" ON "certificates"("fingerprint_sha256");

-- CreateIndex
CREATE INDEX "certificates_status_renew_at_idx" ON "certificates"("status", "renew_at");

-- CreateIndex
CREATE INDEX "certificates_status_not_after_idx" ON "certificates"("status", "not_after");

-- CreateIndex
CREATE INDEX "certificates_ocn_id_status_idx" ON "certificates"("ocn_id", "status");

-- CreateIndex
CREATE INDEX "certificates_provider_id_idx" ON "certificates"("provider_id");

-- CreateIndex
CREATE INDEX "certificates_renewed_from_id_idx" ON "certificates"("renewed_from_id");

-- CreateIndex
CREATE UNIQUE INDEX "certificate_orders_certificate_id_key" ON "certificate_orders"("certificate_id");

-- CreateIndex
CREATE INDEX "certificate_orders_state_next_attempt_at_idx" ON "certificate_orders"("state", "next_attempt_at");

-- CreateIndex
CREATE INDEX "certificate_events_certificate_id_at_idx" ON "certificate_events"("certificate_id", "at");

-- CreateIndex
CREATE UNIQUE INDEX "publications_url_key" ON "publications"("url");

-- CreateIndex
CREATE INDEX "publications_certificate_id_idx" ON "publications"("certificate_id");

-- CreateIndex
CREATE INDEX "publications_remove_after_idx" ON "publications"("remove_after");

-- CreateIndex
CREATE UNIQUE INDEX "publications_driver_storage_key_key" ON "publications"("driver", "storage_key");

-- CreateIndex
CREATE UNIQUE INDEX "signer_clients_name_key" ON "signer_clients"("name");

-- CreateIndex
CREATE UNIQUE INDEX "signer_clients_credential_hash_key" ON "signer_clients"("credential_hash");

-- CreateIndex
CREATE INDEX "signer_scopes_ocn_id_idx" ON "signer_scopes"("ocn_id");

-- CreateIndex
CREATE UNIQUE INDEX "signer_scopes_signer_id_ocn_id_key" ON "signer_scopes"("signer_id", "ocn_id");

-- CreateIndex
CREATE INDEX "third_party_signing_arrangements_provider_id_idx" ON "third_party_signing_arrangements"("provider_id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_delivered_at_next_attempt_at_idx" ON "webhook_deliveries"("delivered_at", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_webhook_id_idx" ON "webhook_deliveries"("webhook_id");

-- CreateIndex
CREATE UNIQUE INDEX "admin_tokens_token_hash_key" ON "admin_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");

-- CreateIndex
CREATE INDEX "audit_events_subject_type_subject_id_at_idx" ON "audit_events"("subject_type", "subject_id", "at");

-- CreateIndex
CREATE INDEX "audit_events_actor_type_actor_id_at_idx" ON "audit_events"("actor_type", "actor_id", "at");

-- CreateIndex
CREATE INDEX "job_runs_job_started_at_idx" ON "job_runs"("job", "started_at");

-- AddForeignKey
ALTER TABLE "ocns" ADD CONSTRAINT "ocns_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sti_pa_accounts" ADD CONSTRAINT "sti_pa_accounts_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acme_accounts" ADD CONSTRAINT "acme_accounts_sti_ca_id_fkey" FOREIGN KEY ("sti_ca_id") REFERENCES "sti_cas"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acme_accounts" ADD CONSTRAINT "acme_accounts_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acme_accounts" ADD CONSTRAINT "acme_accounts_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "private_keys"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "spc_tokens" ADD CONSTRAINT "spc_tokens_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "spc_tokens" ADD CONSTRAINT "spc_tokens_ocn_id_fkey" FOREIGN KEY ("ocn_id") REFERENCES "ocns"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "spc_tokens" ADD CONSTRAINT "spc_tokens_sti_pa_account_id_fkey" FOREIGN KEY ("sti_pa_account_id") REFERENCES "sti_pa_accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "spc_tokens" ADD CONSTRAINT "spc_tokens_acme_account_id_fkey" FOREIGN KEY ("acme_account_id") REFERENCES "acme_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "csrs" ADD CONSTRAINT "csrs_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "private_keys"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_ocn_id_fkey" FOREIGN KEY ("ocn_id") REFERENCES "ocns"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_sti_ca_id_fkey" FOREIGN KEY ("sti_ca_id") REFERENCES "sti_cas"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "private_keys"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_renewed_from_id_fkey" FOREIGN KEY ("renewed_from_id") REFERENCES "certificates"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificate_orders" ADD CONSTRAINT "certificate_orders_certificate_id_fkey" FOREIGN KEY ("certificate_id") REFERENCES "certificates"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificate_orders" ADD CONSTRAINT "certificate_orders_spc_token_id_fkey" FOREIGN KEY ("spc_token_id") REFERENCES "spc_tokens"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificate_events" ADD CONSTRAINT "certificate_events_certificate_id_fkey" FOREIGN KEY ("certificate_id") REFERENCES "certificates"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "publications" ADD CONSTRAINT "publications_certificate_id_fkey" FOREIGN KEY ("certificate_id") REFERENCES "certificates"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "signer_scopes" ADD CONSTRAINT "signer_scopes_signer_id_fkey" FOREIGN KEY ("signer_id") REFERENCES "signer_clients"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "signer_scopes" ADD CONSTRAINT "signer_scopes_ocn_id_fkey" FOREIGN KEY ("ocn_id") REFERENCES "ocns"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "third_party_signing_arrangements" ADD CONSTRAINT "third_party_signing_arrangements_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "third_party_signing_arrangements" ADD CONSTRAINT "third_party_signing_arrangements_signer_client_id_fkey" FOREIGN KEY ("signer_client_id") REFERENCES "signer_clients"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_fkey" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- ─────────────────────────────────────────────────────────────────────────────────────────────
-- Written by hand: what Prisma's schema language cannot express. Prisma's differ does not see
-- these objects, so `npm run db:check` neither requires nor removes them (see schema.prisma).
-- ─────────────────────────────────────────────────────────────────────────────────────────────

-- Signer hand-out: "the active certificate of an OCN" must have exactly one answer, or a signer
-- could receive a key whose certificate is being superseded (partial index; Prisma can't say it).
CREATE UNIQUE INDEX "certificates_one_active_per_ocn" ON "certificates" ("ocn_id") WHERE "status" = 'active';

-- RFC 8226 / NECA: an SPC (OCN) is four characters, digits and uppercase letters only.
ALTER TABLE "ocns" ADD CONSTRAINT "ocns_code_format" CHECK ("code" ~ '^[0-9A-Z]{4}$');
-- FCC CORES: FRN is 10 digits; Form 499-A filer ID is 6 digits.
ALTER TABLE "providers" ADD CONSTRAINT "providers_frn_format" CHECK ("frn" ~ '^[0-9]{10}$');
ALTER TABLE "providers" ADD CONSTRAINT "providers_filer_499_id_format" CHECK ("filer_499_id" ~ '^[0-9]{6}$');

-- A live key has its material somewhere: a sealed PKCS#8 blob under a named KEK, or an HSM object.
ALTER TABLE "private_keys" ADD CONSTRAINT "private_keys_custody_material" CHECK (
  "destroyed_at" IS NOT NULL
  OR ("custody" = 'software' AND "sealed" IS NOT NULL AND "kek_id" IS NOT NULL)
  OR ("custody" = 'pkcs11' AND "pkcs11_uri" IS NOT NULL)
);

-- Once downloaded, a certificate's identity is known; an active one is served at x5u and has
-- its renewal time set.
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_issued_fields" CHECK (
  "status" IN ('requested', 'ordering', 'failed')
  OR ("serial" IS NOT NULL AND "fingerprint_sha256" IS NOT NULL AND "subject" IS NOT NULL
      AND "not_before" IS NOT NULL AND "not_after" IS NOT NULL AND "chain_pem" IS NOT NULL)
);
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_active_fields" CHECK (
  "status" <> 'active' OR ("x5u" IS NOT NULL AND "renew_at" IS NOT NULL AND "activated_at" IS NOT NULL)
);
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_policy_ranges" CHECK (
  ("validity_days" IS NULL OR "validity_days" > 0) AND ("renew_before_days" IS NULL OR "renew_before_days" >= 0)
);
ALTER TABLE "sti_cas" ADD CONSTRAINT "sti_cas_policy_ranges" CHECK (
  ("validity_days" IS NULL OR "validity_days" > 0) AND ("renew_before_days" IS NULL OR "renew_before_days" >= 0)
);

-- The audit log is append-only in the database itself, so no code path (nor an operator with the
-- service's credentials and a SQL prompt) can rewrite history. A superuser can still disable the
-- trigger; that is an act outside the service, visible in the server's own logs.
CREATE FUNCTION "audit_events_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit events are never changed or removed; record a new event instead.';
END;
$$;

CREATE TRIGGER "audit_events_append_only"
  BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_refuse_change"();

CREATE TRIGGER "audit_events_no_truncate"
  BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_refuse_change"();
