-- Corrections of the evidence by whoever sent it (GB/T 38963 "correct data"): an authority retracts
-- or amends its own fact by record id, a carrier corrects or withdraws a stay (followed from
-- itinerary's feed). A retracted fact stays in status.facts, marked, and no longer counts; an amended
-- one is rewritten in place and what it said before is kept here, sealed under this row, so the
-- history is never deleted. Each correction's audit entry names it (audit_log.correction_id).
ALTER TABLE status.facts ADD COLUMN retract_time timestamptz;

CREATE TABLE status.corrections (
    correction_id     uuid PRIMARY KEY,
    person_id         uuid NOT NULL,
    kind              smallint NOT NULL,       -- CorrectionKind
    actor             text NOT NULL,           -- the authority or the carrier
    record_id         text NOT NULL,           -- the fact's record id, the stay correction's id
    changed_fields    text[] NOT NULL,         -- field names, never values
    reason            text NOT NULL,
    legal_basis       text NOT NULL,
    request_id        text,
    superseded_key_id text,                    -- the fact as it was, sealed under this row
    superseded        bytea,
    create_time       timestamptz NOT NULL
);
CREATE UNIQUE INDEX corrections_request ON status.corrections (actor, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX corrections_by_person ON status.corrections (person_id, create_time);

ALTER TABLE status.audit_log ADD COLUMN correction_id uuid;
