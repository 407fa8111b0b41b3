-- Persons, dependent links and face-check provider keys.
-- Document numbers, names and birth dates exist only sealed (AES-GCM, row-bound);
-- lookups go through keyed hashes. Primary keys lead with the column a sharded
-- deployment would distribute by (person_id; holder_person_id for links).

CREATE TABLE identity.persons (
    person_id              uuid PRIMARY KEY,
    document_lookup        bytea NOT NULL,          -- HMAC-SHA256 of kind|country|number
    name_lookup            bytea NOT NULL,          -- HMAC-SHA256 of the normalised name
    document_kind          smallint NOT NULL,
    document_country_code  char(3) NOT NULL,
    sealed_key_id          text NOT NULL,           -- keyring id, for rotation
    sealed_record          bytea NOT NULL,          -- name, number, birth date
    masked_name            text NOT NULL,
    masked_document_number text NOT NULL,
    home_province_code     char(6) NOT NULL,
    face_check_time        timestamptz,
    create_time            timestamptz NOT NULL,
    update_time            timestamptz NOT NULL
);
CREATE UNIQUE INDEX persons_document_lookup_key ON identity.persons (document_lookup);

CREATE TABLE identity.dependent_links (
    holder_person_id    uuid NOT NULL REFERENCES identity.persons (person_id),
    link_id             bigint GENERATED ALWAYS AS IDENTITY,
    dependent_person_id uuid NOT NULL REFERENCES identity.persons (person_id),
    relation            smallint NOT NULL,
    basis               smallint NOT NULL,
    link_time           timestamptz NOT NULL,
    unlink_time         timestamptz,
    PRIMARY KEY (holder_person_id, link_id),
    CHECK (holder_person_id <> dependent_person_id)
);
-- One live link per pair; removed links stay as history.
CREATE UNIQUE INDEX dependent_links_live_pair
    ON identity.dependent_links (holder_person_id, dependent_person_id) WHERE unlink_time IS NULL;
CREATE INDEX dependent_links_live_dependent
    ON identity.dependent_links (dependent_person_id) WHERE unlink_time IS NULL;

CREATE TABLE identity.face_provider_keys (
    provider_id      text NOT NULL,
    key_id           text NOT NULL,
    public_key_der   bytea NOT NULL,
    valid_from_time  timestamptz NOT NULL,
    valid_until_time timestamptz,
    revoke_time      timestamptz,
    create_time      timestamptz NOT NULL,
    PRIMARY KEY (provider_id, key_id)
);

-- Single-use nonces of face-check attestations, kept until the attestation could no
-- longer be accepted anyway. `purpose` lets a retried request reuse its own nonce.
CREATE TABLE identity.face_check_nonces (
    provider_id     text NOT NULL,
    nonce           text NOT NULL,
    document_lookup bytea NOT NULL,
    purpose         text NOT NULL,
    consume_time    timestamptz NOT NULL,
    expire_time     timestamptz NOT NULL,
    PRIMARY KEY (provider_id, nonce)
);
CREATE INDEX face_check_nonces_expire_time ON identity.face_check_nonces (expire_time);
