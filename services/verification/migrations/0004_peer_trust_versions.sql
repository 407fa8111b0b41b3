-- The version of each peer's last good (signed) trust list: a list with a version not above it is
-- not applied, so a stale, replayed or hostile list can never take the trust list back.
CREATE TABLE verification.peer_trust_lists (
    peer_address text PRIMARY KEY,
    version      bigint NOT NULL,
    receive_time timestamptz NOT NULL
);
