-- Received batches are idempotent per (origin province, batch id): two provinces may use the
-- same id, and neither's batch is then taken for the other's.
ALTER TABLE verification.risk_batches DROP CONSTRAINT risk_batches_pkey;
ALTER TABLE verification.risk_batches ADD PRIMARY KEY (province_code, batch_id);

-- The outbox: each batch this deployment publishes (the signed bytes and their signature, as
-- sent) and one delivery per peer, written in the transaction that stores the batch. A job
-- claims due deliveries (FOR UPDATE SKIP LOCKED, with a lease: a sender killed mid-delivery
-- leaves its claim to expire, and another retries) and sends them until the peer acknowledges.
CREATE TABLE verification.outbox_batches (
    batch_id      text PRIMARY KEY,
    province_code char(6) NOT NULL,
    payload       bytea NOT NULL,           -- risk_list_bytes(batch_id, province, records)
    key_id        bytea NOT NULL,
    signature     bytea NOT NULL,
    create_time   timestamptz NOT NULL
);
CREATE TABLE verification.outbox_deliveries (
    batch_id          text NOT NULL REFERENCES verification.outbox_batches ON DELETE CASCADE,
    peer_address      text NOT NULL,
    create_time       timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz NOT NULL,
    last_error        text,
    deliver_time      timestamptz,
    PRIMARY KEY (batch_id, peer_address)
);
CREATE INDEX outbox_deliveries_due ON verification.outbox_deliveries (next_attempt_time)
    WHERE deliver_time IS NULL;
