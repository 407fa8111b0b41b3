-- The exporter: our persons' colour changes become red/yellow list records sent to peers.
-- How far it has read status's colour changes (ListColourChanges): moved in the transaction that
-- stores the page's batches in the outbox, so a crash redoes at most that page, never loses one.
CREATE TABLE verification.export_cursor (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    after_sequence bigint NOT NULL,
    update_time    timestamptz NOT NULL
);
INSERT INTO verification.export_cursor (after_sequence, update_time) VALUES (0, now());

-- An exported record carries its origin's sequence: per (person, origin) the highest one replaces the
-- older, whatever order batches arrive in; a GREEN one (colour 1) is a delisting, kept as a tombstone
-- until it expires so an older record arriving late cannot bring the person back. Records published
-- by hand keep list_sequence 0 and stand each on its own, as before.
ALTER TABLE verification.risk_records ADD COLUMN list_sequence bigint NOT NULL DEFAULT 0;
ALTER TABLE verification.risk_records DROP CONSTRAINT risk_records_colour_check;
ALTER TABLE verification.risk_records ADD CONSTRAINT risk_records_colour_check
    CHECK (colour IN (2, 3) OR (colour = 1 AND list_sequence > 0));
CREATE UNIQUE INDEX risk_records_exported ON verification.risk_records (person_ref, province_code)
    WHERE list_sequence > 0;
