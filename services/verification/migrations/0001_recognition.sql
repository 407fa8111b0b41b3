-- Mutual recognition (trust list, agreements, red/yellow lists) and recorded decisions.
-- Rows that offline checkpoints mirror carry change_seq from one sequence, so a device
-- asks for "everything after version N" and gets exactly what changed.

CREATE SEQUENCE verification.change_seq;

-- Public keys this deployment trusts: its own status's code-signing keys and, from
-- peers, theirs; `purpose` 1 signs codes, 2 signs risk lists and snapshots.
CREATE TABLE verification.trusted_keys (
    key_id        bytea PRIMARY KEY CHECK (length(key_id) = 8),
    province_code char(6) NOT NULL,
    purpose       smallint NOT NULL,
    public_key    bytea NOT NULL,
    not_before    timestamptz NOT NULL,
    not_after     timestamptz NOT NULL,
    revoke_time   timestamptz,
    change_seq    bigint NOT NULL DEFAULT nextval('verification.change_seq')
);
CREATE INDEX trusted_keys_change_seq ON verification.trusted_keys (change_seq);

CREATE TABLE verification.agreements (
    issuer_province char(6) PRIMARY KEY,
    accepted_since  timestamptz NOT NULL,
    colour_mapping  jsonb NOT NULL,              -- {"orange": 2, ...}
    end_time        timestamptz,
    update_time     timestamptz NOT NULL,
    change_seq      bigint NOT NULL DEFAULT nextval('verification.change_seq')
);

-- Batches received (idempotency) and their records. The most severe unexpired record
-- for a person reference wins when verifying; expired ones are purged.
CREATE TABLE verification.risk_batches (
    batch_id      text PRIMARY KEY,
    province_code char(6) NOT NULL,
    receive_time  timestamptz NOT NULL,
    record_count  integer NOT NULL
);
CREATE TABLE verification.risk_records (
    person_ref    bytea NOT NULL CHECK (length(person_ref) = 16),
    province_code char(6) NOT NULL,
    batch_id      text NOT NULL,
    colour        smallint NOT NULL CHECK (colour IN (2, 3)),
    reason        text NOT NULL,
    source        text NOT NULL,
    expire_time   timestamptz NOT NULL,
    change_seq    bigint NOT NULL DEFAULT nextval('verification.change_seq'),
    PRIMARY KEY (person_ref, province_code, batch_id)
);
CREATE INDEX risk_records_expire_time ON verification.risk_records (expire_time);
CREATE INDEX risk_records_change_seq ON verification.risk_records (change_seq);

-- Every decision, for statistics and tracing: never a document number or a name.
CREATE TABLE verification.decisions (
    verification_id uuid PRIMARY KEY,
    verify_time     timestamptz NOT NULL,
    checkpoint_id   text NOT NULL,
    area_code       char(6) NOT NULL,
    decision        smallint NOT NULL,
    reason          text NOT NULL,
    issuer_province char(6),
    colour          smallint,
    code_id         bytea
);
CREATE INDEX decisions_verify_time ON verification.decisions (verify_time);
