-- Corrections of a person's data (GB/T 38963 "correct data"), append-only: who corrected what and
-- why. A reclaim is the document's holder, proven by a face check, taking back a registration
-- someone else made under another name: the name is replaced, links others made to the person
-- end, and the person's sessions are revoked, in the same transaction as this row.
CREATE TABLE identity.corrections (
    correction_id bigserial PRIMARY KEY,
    person_id     uuid NOT NULL REFERENCES identity.persons (person_id),
    kind          text NOT NULL,
    actor         text NOT NULL,
    reason        text NOT NULL,
    links_ended   integer NOT NULL DEFAULT 0,
    create_time   timestamptz NOT NULL
);
CREATE INDEX corrections_by_person ON identity.corrections (person_id, correction_id);
