-- Each served status is bound to its audit entry: the seq of the entry that recorded its
-- version, and a keyed MAC (under the audit key, which the database does not hold) over the
-- served fields. A row edited in SQL no longer verifies and is decided again, never served.
-- Rows from before this migration have neither and are re-bound on their next read.
ALTER TABLE status.statuses ADD COLUMN audit_seq bigint, ADD COLUMN binding bytea;
