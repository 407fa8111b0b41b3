-- A person's sign-in sessions. The gateway's access tokens are short (minutes) and name their
-- session; a refresh token (random, 256 bits, kept here as its SHA-256 only) buys the next one and
-- is replaced at every use. A revoked session refreshes no more and its access tokens are refused
-- at once (the gateway asks on every person call).
CREATE TABLE identity.sessions (
    session_id     uuid PRIMARY KEY,
    person_id      uuid NOT NULL REFERENCES identity.persons (person_id),
    refresh_digest bytea NOT NULL UNIQUE CHECK (length(refresh_digest) = 32),
    create_time    timestamptz NOT NULL,
    refresh_time   timestamptz NOT NULL,
    expire_time    timestamptz NOT NULL,
    revoke_time    timestamptz,
    revoke_reason  text
);
CREATE INDEX sessions_live_by_person ON identity.sessions (person_id) WHERE revoke_time IS NULL;
CREATE INDEX sessions_expire_time ON identity.sessions (expire_time);
