-- Venues (场所码) and the visits people record by scanning their codes, for contact tracing.

CREATE TABLE verification.venues (
    venue_id    uuid PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    area_code   char(6) NOT NULL,
    category    smallint NOT NULL CHECK (category BETWEEN 1 AND 7),
    request_id  text UNIQUE,                -- a retried registration finds the first one
    create_time timestamptz NOT NULL
);

-- Personal data: who was where and when. Kept only for the retention window (14 days
-- plus 2 days of grace by default), then deleted by the purge. The key leads with the
-- person, so a future deployment can shard visits by person like the other services'
-- personal tables.
--
-- The purge is a plain DELETE on visit_time. At national scale (hundreds of millions of
-- scans a day) the next step is daily partitions by visit_time, as itinerary.stays has,
-- so a whole day is dropped instead of deleted row by row (and this index goes away).
CREATE TABLE verification.visits (
    person_id  uuid NOT NULL,
    visit_time timestamptz NOT NULL,
    venue_id   uuid NOT NULL,
    visit_id   uuid NOT NULL,
    -- The scanned code was out of date (a forwarded photo): kept, never used for tracing.
    flagged    boolean NOT NULL,
    request_id text,
    PRIMARY KEY (person_id, visit_time, visit_id)
);

-- A retried scan (same person, same request id) finds the first visit.
CREATE UNIQUE INDEX visits_request_id ON verification.visits (person_id, request_id)
    WHERE request_id IS NOT NULL;

-- Tracing: everyone at a venue around a time, answered from the index alone.
CREATE INDEX visits_venue_time ON verification.visits (venue_id, visit_time) INCLUDE (person_id, flagged);

-- The purge of visits past retention.
CREATE INDEX visits_visit_time ON verification.visits (visit_time);
