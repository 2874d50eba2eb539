-- Signer hand-off (issue 7): every replica keeps an in-memory view of the active certificate of
-- each OCN and of the signer credentials and scopes, so the steady-state pull needs no database
-- round trip. These triggers tell every replica when that view is out of date: one NOTIFY on
-- channel clm_signer_handoff, sent by PostgreSQL at COMMIT (never for a rolled-back change).
--
-- Triggers rather than explicit NOTIFYs in the services: certificates are activated, superseded,
-- revoked and expired by several features (procurement, import, renewal, monitoring) and by
-- operators at a SQL prompt; a trigger sees every one of them, including those added later.
--
-- The payload is the table name only: PostgreSQL folds identical notifications of one
-- transaction into one (a KEK rewrap touching every key sends one), and a replica reloads its
-- whole view on any of them. Prisma cannot express triggers, so `npm run db:check` ignores them.

CREATE FUNCTION "signer_hand_off_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('clm_signer_handoff', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;

-- Certificates: only changes that make or unmake the active pair of an OCN, or alter what a
-- signer receives for it (renew_at, updated_at and the like do not).
CREATE TRIGGER "certificates_signer_hand_off_insert"
  AFTER INSERT ON "certificates"
  FOR EACH ROW WHEN (NEW."status" = 'active')
  EXECUTE FUNCTION "signer_hand_off_notify"();

CREATE TRIGGER "certificates_signer_hand_off_update"
  AFTER UPDATE ON "certificates"
  FOR EACH ROW WHEN (
    (OLD."status" = 'active' OR NEW."status" = 'active') AND (
      OLD."status" IS DISTINCT FROM NEW."status"
      OR OLD."ocn_id" IS DISTINCT FROM NEW."ocn_id"
      OR OLD."key_id" IS DISTINCT FROM NEW."key_id"
      OR OLD."x5u" IS DISTINCT FROM NEW."x5u"
      OR OLD."chain_pem" IS DISTINCT FROM NEW."chain_pem"
      OR OLD."not_before" IS DISTINCT FROM NEW."not_before"
      OR OLD."not_after" IS DISTINCT FROM NEW."not_after"
    )
  )
  EXECUTE FUNCTION "signer_hand_off_notify"();

CREATE TRIGGER "certificates_signer_hand_off_delete"
  AFTER DELETE ON "certificates"
  FOR EACH ROW WHEN (OLD."status" = 'active')
  EXECUTE FUNCTION "signer_hand_off_notify"();

-- A provider whose SPC token was revoked must stop signing at once (STI-GA process).
CREATE TRIGGER "providers_signer_hand_off"
  AFTER UPDATE ON "providers"
  FOR EACH ROW WHEN (
    OLD."signing_suspended_at" IS DISTINCT FROM NEW."signing_suspended_at"
    OR OLD."signing_suspended_reason" IS DISTINCT FROM NEW."signing_suspended_reason"
  )
  EXECUTE FUNCTION "signer_hand_off_notify"();

-- An OCN moved to another provider or renamed changes whose suspension applies to it.
CREATE TRIGGER "ocns_signer_hand_off"
  AFTER UPDATE OR DELETE ON "ocns"
  FOR EACH ROW EXECUTE FUNCTION "signer_hand_off_notify"();

-- Key material: destroyed, or resealed under another KEK (`clm keys rewrap`).
CREATE TRIGGER "private_keys_signer_hand_off"
  AFTER UPDATE ON "private_keys"
  FOR EACH ROW WHEN (
    OLD."sealed" IS DISTINCT FROM NEW."sealed"
    OR OLD."custody" IS DISTINCT FROM NEW."custody"
    OR OLD."pkcs11_uri" IS DISTINCT FROM NEW."pkcs11_uri"
    OR OLD."destroyed_at" IS DISTINCT FROM NEW."destroyed_at"
  )
  EXECUTE FUNCTION "signer_hand_off_notify"();

-- Signer credentials: created, rotated, disabled, renamed, removed. last_seen_at is not among
-- them: the hand-off itself writes it, and that must not make every replica reload.
CREATE TRIGGER "signer_clients_signer_hand_off_insert_delete"
  AFTER INSERT OR DELETE ON "signer_clients"
  FOR EACH ROW EXECUTE FUNCTION "signer_hand_off_notify"();

CREATE TRIGGER "signer_clients_signer_hand_off_update"
  AFTER UPDATE ON "signer_clients"
  FOR EACH ROW WHEN (
    OLD."credential_hash" IS DISTINCT FROM NEW."credential_hash"
    OR OLD."disabled_at" IS DISTINCT FROM NEW."disabled_at"
    OR OLD."name" IS DISTINCT FROM NEW."name"
  )
  EXECUTE FUNCTION "signer_hand_off_notify"();

-- Which OCNs a signer may pull.
CREATE TRIGGER "signer_scopes_signer_hand_off"
  AFTER INSERT OR UPDATE OR DELETE ON "signer_scopes"
  FOR EACH ROW EXECUTE FUNCTION "signer_hand_off_notify"();
