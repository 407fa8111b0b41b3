-- How far the background check of the audit chain has come, shared by every replica (the one that
-- holds this row's lock checks; the others skip that round). New entries are verified once, after
-- verified_seq, linked to verified_hash; older ones are re-verified a page per round after recheck_seq
-- (wrapping round), so an edit of an entry already checked is found too, without rescanning the chain.
CREATE TABLE status.audit_verification (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    verified_seq bigint NOT NULL,
    verified_hash bytea NOT NULL,
    recheck_seq bigint NOT NULL,
    check_time timestamptz
);
INSERT INTO status.audit_verification (verified_seq, verified_hash, recheck_seq) VALUES (0, '\x', 0);
