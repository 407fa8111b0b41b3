-- Identity's federation person reference (16 bytes), kept at enrolment so every code can
-- carry it (provinces match red/yellow lists on it, never on a document number). NULL
-- for persons enrolled before it existed: issuing their next code asks identity again.
ALTER TABLE status.persons
    ADD COLUMN person_ref bytea CHECK (length(person_ref) = 16);
