-- Minimisation of the record: after the legal retention, an audit entry's details (its reasons:
-- area codes of risky stays, diagnoses, record ids) are reduced to keyed digests; colour, cause,
-- rule set, officers and legal basis stay. The chain covers a keyed digest of the reasons
-- (detail_digest) instead of the reasons themselves, so a reduced entry still verifies. Entries
-- written before this have no digest, chain over their reasons as before, and are never reduced.
ALTER TABLE status.audit_log ADD COLUMN detail_digest bytea NOT NULL DEFAULT '\x',
                             ADD COLUMN reduce_time timestamptz;
CREATE INDEX audit_log_unreduced ON status.audit_log (change_time) WHERE reduce_time IS NULL AND detail_digest <> '\x';

-- Still append-only: no delete, no truncate, and no update but that one reduction, once, of an
-- entry with a digest, touching nothing but its reasons and reduce_time.
DROP TRIGGER audit_log_append_only ON status.audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE OR TRUNCATE ON status.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION status.refuse_audit_rewrite();
CREATE FUNCTION status.allow_only_audit_reduction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.reduce_time IS NULL AND NEW.reduce_time IS NOT NULL AND OLD.detail_digest <> '\x'
       AND (to_jsonb(NEW) - 'reasons' - 'reduce_time') = (to_jsonb(OLD) - 'reasons' - 'reduce_time') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'status.audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_reduction_only BEFORE UPDATE ON status.audit_log
    FOR EACH ROW EXECUTE FUNCTION status.allow_only_audit_reduction();
