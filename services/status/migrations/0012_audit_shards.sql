-- One audit chain per shard of persons (audit.AUDIT_SHARDS = 16, a person's shard is fixed by their
-- id), so decisions for persons of different shards no longer queue on one head row until commit.
-- Entries keep one numbering across every chain, from a sequence drawn while the shard's head is
-- locked: within a chain seq only grows, in commit order, and a person's entries are in one chain.
-- The entries written before this migration stay one chain, now shard 0's, which goes on from its head.
CREATE SEQUENCE status.audit_seq AS bigint;
SELECT setval('status.audit_seq', greatest(seq, 1), seq > 0) FROM status.audit_head;

ALTER TABLE status.audit_log ADD COLUMN shard smallint NOT NULL DEFAULT 0;
CREATE INDEX audit_log_shard ON status.audit_log (shard, seq);

ALTER TABLE status.audit_head ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE status.audit_head DROP COLUMN singleton;
ALTER TABLE status.audit_head ADD PRIMARY KEY (shard);
ALTER TABLE status.audit_head ADD CHECK (shard >= 0 AND shard < 16);
INSERT INTO status.audit_head (shard, seq, entry_hash) SELECT s, 0, '\x' FROM generate_series(1, 15) AS s;

-- The background check's position, per chain.
ALTER TABLE status.audit_verification ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE status.audit_verification DROP COLUMN only_row;
ALTER TABLE status.audit_verification ADD PRIMARY KEY (shard);
INSERT INTO status.audit_verification (shard, verified_seq, verified_hash, recheck_seq)
    SELECT s, 0, '\x', 0 FROM generate_series(1, 15) AS s;
