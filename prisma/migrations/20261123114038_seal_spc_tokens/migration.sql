-- SPC tokens are bearer credentials for the tkauth-01 challenge (RFC 9447): from now on they are
-- stored sealed by the keystore (AES-GCM under the KEK, AAD spc_tokens:<id>:token), like STI-PA
-- passwords, and `clm keys rewrap` reseals them.
--
-- Tokens already stored in clear cannot be sealed here: SQL has no key. Rather than keep a clear
-- copy until some later start-up seals it (and in every backup taken meanwhile), they are erased
-- now. Their rows stay for the history (jti, exp, audit trail) but are marked expired, so nothing
-- reuses them: an order that had one gets a fresh token from the STI-PA when it next needs it
-- (tokens are short-lived and re-fetched routinely; the cost is one STI-PA request per order).
UPDATE "spc_tokens" SET "status" = 'expired' WHERE "status" = 'valid';

-- AlterTable
ALTER TABLE "spc_tokens" DROP COLUMN "token_jws",
ADD COLUMN     "token_sealed" BYTEA;
