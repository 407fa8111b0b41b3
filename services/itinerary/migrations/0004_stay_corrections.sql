-- A carrier corrects or withdraws stays it sent (GB/T 38963 "correct data"). Each correction is
-- kept (who, when, what kind, which fields — no places or times: the stays themselves are the
-- personal data, replaced in the same transaction) and its person goes to the feed status
-- follows, with the correction's id, so the colour is decided again whichever way it moves.
CREATE TABLE itinerary.stay_corrections (
    correction_id  uuid PRIMARY KEY,
    source_carrier text NOT NULL,
    request_id     text NOT NULL,
    person_id      uuid NOT NULL,
    action         smallint NOT NULL,         -- 1 corrected, 2 withdrawn (StayCorrectionAction)
    changed_fields text[] NOT NULL,
    reason         text NOT NULL,
    create_time    timestamptz NOT NULL
);
CREATE INDEX stay_corrections_by_time ON itinerary.stay_corrections (create_time);

-- Request idempotency: the first answer is kept and given again to a retry.
CREATE TABLE itinerary.stay_correction_requests (
    source_carrier text NOT NULL,
    request_id     text NOT NULL,
    receive_time   timestamptz NOT NULL,
    result         jsonb NOT NULL,
    PRIMARY KEY (source_carrier, request_id)
);

ALTER TABLE itinerary.risky_stay_events ADD COLUMN correction_id uuid;
