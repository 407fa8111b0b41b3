-- A person corrects their registered name (GB/T 38963 "correct data"): the first correction applies at
-- once, later ones wait for an identity officer of the person's home province (as Hubei allowed one
-- edit, then review). Each is kept: who, when, the old and new names sealed under this row (masked
-- copies for answers), the basis, and the officer's decision. At most one waits per person.
CREATE TABLE identity.name_corrections (
    correction_id      uuid PRIMARY KEY,
    person_id          uuid NOT NULL REFERENCES identity.persons (person_id),
    request_id         text NOT NULL,
    state              smallint NOT NULL,     -- NameCorrectionState: 1 applied, 2 pending, 3 approved, 4 rejected
    home_province_code char(6) NOT NULL,
    old_name_lookup    bytea NOT NULL,        -- an approval replaces the name only while it is still this one
    new_name_lookup    bytea NOT NULL,
    masked_old_name    text NOT NULL,
    masked_new_name    text NOT NULL,
    sealed_key_id      text NOT NULL,         -- {"old_name", "new_name", "basis"}
    sealed_record      bytea NOT NULL,
    reviewer_id        text,
    decision_reason    text,
    create_time        timestamptz NOT NULL,
    decide_time        timestamptz,
    UNIQUE (person_id, request_id)
);
CREATE UNIQUE INDEX name_corrections_one_pending ON identity.name_corrections (person_id) WHERE state = 2;
CREATE INDEX name_corrections_queue ON identity.name_corrections (home_province_code, state, create_time, correction_id);
