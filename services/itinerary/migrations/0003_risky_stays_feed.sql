-- The feed of persons with newly risky stays: a stay that lands in an area already at MEDIUM or
-- HIGH risk while the person was there (a late carrier batch, a traveller's declaration). Status
-- follows it in record order as it follows declarations, so the colour moves without a per-stay
-- call. Rows are keyed by the writing transaction's id: a reader takes only rows of transactions
-- older than every one still running, so a row committed late is never skipped.
CREATE TABLE itinerary.risky_stay_events (
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id    bigint GENERATED ALWAYS AS IDENTITY,
    person_id   uuid NOT NULL,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (txid, event_id)
);
CREATE INDEX risky_stay_events_by_time ON itinerary.risky_stay_events (create_time);
