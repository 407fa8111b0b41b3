-- Statuses, the facts and check-ins they are computed from, rule sets, signing keys,
-- appeals, overrides and the hash-chained audit log. Every table that can grow with
-- the population leads its key with person_id, the column a sharded deployment
-- distributes by.

-- Versioned rule sets per province ('000000' is the national default).
CREATE TABLE status.rule_sets (
    province_code  char(6) NOT NULL,
    version        integer NOT NULL CHECK (version > 0),
    effective_time timestamptz NOT NULL,
    document       text NOT NULL,
    publish_time   timestamptz NOT NULL,
    PRIMARY KEY (province_code, version),
    UNIQUE (province_code, effective_time)
);

-- Persons status knows, from identity: enrolment is an idempotent insert, and
-- recomputations lock these rows so one person is decided by one writer at a time.
CREATE TABLE status.persons (
    person_id     uuid PRIMARY KEY,
    province_code char(6) NOT NULL,      -- the person's home province: whose rules apply
    masked_name   text NOT NULL,         -- as identity masks it ("张*"); what a code shows
    enrol_time    timestamptz NOT NULL
);

-- The current status per person; history lives in audit_log.
CREATE TABLE status.statuses (
    person_id        uuid PRIMARY KEY REFERENCES status.persons,
    version          bigint NOT NULL CHECK (version > 0),
    colour           smallint NOT NULL CHECK (colour BETWEEN 1 AND 3),
    display_colour   text NOT NULL,
    reasons          jsonb NOT NULL,
    rule_province    char(6) NOT NULL,
    rule_version     integer NOT NULL,
    compute_time     timestamptz NOT NULL,
    valid_until      timestamptz NOT NULL,
    next_change_time timestamptz           -- when time alone changes it: the scheduler's queue
);
CREATE INDEX statuses_next_change ON status.statuses (next_change_time) WHERE next_change_time IS NOT NULL;

-- Authority facts. Only what idempotency and retention need is in clear; what the fact
-- says (kind, diagnosis, times, readings) is sealed with the service's keyring.
CREATE TABLE status.facts (
    person_id           uuid NOT NULL,
    fact_id             uuid NOT NULL,
    authority           text NOT NULL,
    authority_record_id text NOT NULL,
    source              smallint NOT NULL,
    record_time         timestamptz NOT NULL,
    sealed_key_id       text NOT NULL,
    sealed              bytea NOT NULL,
    PRIMARY KEY (person_id, fact_id),
    UNIQUE (person_id, authority, authority_record_id)
);

-- Daily check-ins. `abnormal` (37.3 ℃ or more, or a symptom) is what the decision reads;
-- the readings themselves are sealed.
CREATE TABLE status.check_ins (
    person_id          uuid NOT NULL,
    check_in_time      timestamptz NOT NULL,
    check_in_id        uuid NOT NULL,
    reporter_person_id uuid NOT NULL,
    abnormal           boolean NOT NULL,
    request_id         text,
    sealed_key_id      text NOT NULL,
    sealed             bytea NOT NULL,
    PRIMARY KEY (person_id, check_in_time, check_in_id)
);
CREATE UNIQUE INDEX check_ins_request_id ON status.check_ins (person_id, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX check_ins_time ON status.check_ins (check_in_time);

-- Codes issued and not yet expired: which status version each carries.
CREATE TABLE status.issued_codes (
    code_id        bytea PRIMARY KEY,
    person_id      uuid NOT NULL,
    status_version bigint NOT NULL,
    expire_time    timestamptz NOT NULL
);
CREATE INDEX issued_codes_expire_time ON status.issued_codes (expire_time);

-- Province signing keys; private keys sealed, public keys are what verifiers trust.
CREATE TABLE status.signing_keys (
    key_id        bytea PRIMARY KEY CHECK (length(key_id) = 8),
    province_code char(6) NOT NULL,
    public_key    bytea NOT NULL,
    sealed_key_id text NOT NULL,
    sealed        bytea NOT NULL,
    not_before    timestamptz NOT NULL,
    not_after     timestamptz NOT NULL,
    create_time   timestamptz NOT NULL,
    revoke_time   timestamptz,
    CHECK (not_after > not_before)
);
CREATE INDEX signing_keys_province ON status.signing_keys (province_code, not_before DESC);

-- Officers and the roles they hold per province (1 appeal reviewer, 2 override officer).
CREATE TABLE status.officers (
    officer_id    text NOT NULL,
    province_code char(6) NOT NULL,
    roles         smallint[] NOT NULL,
    update_time   timestamptz NOT NULL,
    PRIMARY KEY (officer_id, province_code)
);

CREATE TABLE status.appeals (
    appeal_id       uuid PRIMARY KEY,
    person_id       uuid NOT NULL,
    filer_person_id uuid NOT NULL,
    category        smallint NOT NULL,
    province_code   char(6) NOT NULL,
    state           smallint NOT NULL,         -- 1 pending, 2 approved, 3 rejected
    file_time       timestamptz NOT NULL,
    deadline_time   timestamptz NOT NULL,
    reviewer_id     text,
    decision_reason text,
    decide_time     timestamptz,
    dismissed       text[] NOT NULL DEFAULT '{}',
    request_id      text,
    sealed_key_id   text NOT NULL,             -- the statement and evidence references
    sealed          bytea NOT NULL
);
CREATE INDEX appeals_person ON status.appeals (person_id);
CREATE INDEX appeals_state_deadline ON status.appeals (state, deadline_time, appeal_id);
CREATE UNIQUE INDEX appeals_request_id ON status.appeals (person_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE status.overrides (
    override_id   uuid PRIMARY KEY,
    person_id     uuid NOT NULL,
    province_code char(6) NOT NULL,
    colour        smallint NOT NULL CHECK (colour BETWEEN 1 AND 3),
    reason_code   text NOT NULL,
    legal_basis   text NOT NULL,
    start_time    timestamptz,                 -- NULL: from approval
    end_time      timestamptz NOT NULL,
    proposer_id   text NOT NULL,
    approver_id   text,
    state         smallint NOT NULL,           -- 1 proposed, 2 approved, 3 rejected
    propose_time  timestamptz NOT NULL,
    decide_time   timestamptz,
    request_id    text,
    CHECK (approver_id IS NULL OR approver_id <> proposer_id)
);
CREATE INDEX overrides_state ON status.overrides (state, propose_time DESC, override_id);
CREATE UNIQUE INDEX overrides_request_id ON status.overrides (proposer_id, request_id) WHERE request_id IS NOT NULL;

-- Every status change, append-only and hash-chained: entry_hash = HMAC(key, previous_hash
-- || entry), with the key outside the database, so an edited, inserted or deleted row
-- breaks the chain for `healthcode status verify-audit`.
CREATE TABLE status.audit_log (
    seq             bigint PRIMARY KEY,
    person_id       uuid NOT NULL,
    version         bigint NOT NULL,
    change_time     timestamptz NOT NULL,
    previous_colour smallint NOT NULL,
    colour          smallint NOT NULL,
    display_colour  text NOT NULL,
    reasons         jsonb NOT NULL,
    cause           smallint NOT NULL,
    rule_province   char(6) NOT NULL,
    rule_version    integer NOT NULL,
    officer_ids     text[] NOT NULL,
    legal_basis     text NOT NULL,
    previous_hash   bytea NOT NULL,
    entry_hash      bytea NOT NULL
);
CREATE INDEX audit_log_person ON status.audit_log (person_id, seq DESC);

-- The chain's head, one row: appends lock it, so entries are chained in one order.
CREATE TABLE status.audit_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq        bigint NOT NULL,
    entry_hash bytea NOT NULL
);
INSERT INTO status.audit_head (seq, entry_hash) VALUES (0, '\x');

CREATE FUNCTION status.refuse_audit_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'status.audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON status.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION status.refuse_audit_rewrite();

-- Bulk recomputation after a risk declaration: resumable from last_person_id.
CREATE TABLE status.recompute_runs (
    declaration_id  uuid PRIMARY KEY,
    state           smallint NOT NULL,         -- 1 running, 2 done, 3 failed
    last_person_id  uuid,
    persons_done    bigint NOT NULL DEFAULT 0,
    persons_changed bigint NOT NULL DEFAULT 0,
    start_time      timestamptz NOT NULL,
    finish_time     timestamptz,
    error           text
);
CREATE INDEX recompute_runs_running ON status.recompute_runs (start_time) WHERE state = 1;

-- How far the declaration follower has read itinerary's declarations.
CREATE TABLE status.declaration_cursor (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    created_after timestamptz NOT NULL
);
