-- A received batch's records reach our persons' status (RecordPeerListings, pages of 1000): how
-- many pages status took, and when it had them all. NULL: not yet (status was down, or the call
-- was cut short), so a resend of the batch, acknowledged only once status has every page, goes
-- on from the next page (status is idempotent per origin, batch and record anyway).
ALTER TABLE verification.risk_batches ADD COLUMN status_pages_done integer NOT NULL DEFAULT 0,
    ADD COLUMN status_record_time timestamptz;

-- Fevers read at our checkpoints on another province's code, each reported to the issuing
-- province's deployment (FederationService.ReportFevers) until it answers: an outbox, claimed with
-- FOR UPDATE SKIP LOCKED and a lease as the batches' deliveries are. The payload is the code as
-- scanned (a masked name and the federation person reference, never a document number): the
-- issuer checks its own signature on it. Rows go a day after they are settled.
CREATE TABLE verification.fever_reports (
    report_id         uuid PRIMARY KEY,          -- the decision's verification id
    issuer_province   char(6) NOT NULL,
    peer_address      text NOT NULL,
    reporter_province char(6) NOT NULL,
    payload           text NOT NULL,
    reading_time      timestamptz NOT NULL,
    temperature       numeric(3, 1) NOT NULL,
    create_time       timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz NOT NULL,
    last_error        text,
    deliver_time      timestamptz,               -- the issuer answered: recorded, or refused (last_error)
    CHECK (length(payload) <= 8192)
);
CREATE INDEX fever_reports_due ON verification.fever_reports (next_attempt_time) WHERE deliver_time IS NULL;
CREATE INDEX fever_reports_deliver_time ON verification.fever_reports (deliver_time) WHERE deliver_time IS NOT NULL;
