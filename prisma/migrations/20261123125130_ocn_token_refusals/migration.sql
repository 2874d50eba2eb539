-- SPC token refusals are per OCN (the STI-PA refuses an OCN the API user does not hold while
-- granting the provider's others), so the refusal flag and its episode move from providers to ocns.

-- AlterTable
ALTER TABLE "ocns" ADD COLUMN     "token_refusal_code" TEXT,
ADD COLUMN     "token_refused_at" TIMESTAMPTZ(3),
ADD COLUMN     "token_refused_reason" TEXT;

-- A code or reason without a refusal instant is not a flag.
ALTER TABLE "ocns" ADD CONSTRAINT "ocns_token_refusal_consistent"
  CHECK ("token_refused_at" IS NOT NULL OR ("token_refusal_code" IS NULL AND "token_refused_reason" IS NULL));

-- Carry open episodes over: to the OCNs the STI-PA's message names (FORBIDDEN_OCN names the
-- OCN), else to every OCN of the provider; the daily recheck then asks about each and clears
-- those the STI-PA grants. The code was not kept provider-wide, so it stays null.
UPDATE "ocns" o
SET "token_refused_at" = p."token_refused_at", "token_refused_reason" = p."token_refused_reason"
FROM "providers" p
WHERE o."provider_id" = p."id" AND p."token_refused_at" IS NOT NULL
  AND (
    position(o."code" IN coalesce(p."token_refused_reason", '')) > 0
    OR NOT EXISTS (
      SELECT 1 FROM "ocns" named
      WHERE named."provider_id" = p."id" AND position(named."code" IN coalesce(p."token_refused_reason", '')) > 0
    )
  );

-- AlterTable
ALTER TABLE "providers" DROP COLUMN "token_refused_at",
DROP COLUMN "token_refused_reason";
