-- Stays (carrier and declared) and risk declarations.
-- Stays are personal data kept only for the window plus a grace period: the table is
-- partitioned by departure day so the purge drops whole partitions (partitions are
-- made and dropped by the service's retention job, not here).

CREATE TABLE itinerary.stays (
    person_id      uuid NOT NULL,
    area_code      char(6) NOT NULL,
    arrival_time   timestamptz NOT NULL,
    departure_time timestamptz NOT NULL,
    source         smallint NOT NULL,          -- 1 carrier, 2 declared (as in the proto)
    source_carrier text NOT NULL,              -- '' for declared stays
    -- One row per stay: a resent or overlapping batch adds nothing. It leads with
    -- person_id, the column a sharded deployment distributes by.
    PRIMARY KEY (person_id, area_code, arrival_time, departure_time, source, source_carrier),
    CHECK (departure_time > arrival_time)
) PARTITION BY RANGE (departure_time);

-- Who was in an area (or under it, by code range) in a period: index-only scans
-- for the affected-persons stream.
CREATE INDEX stays_by_area ON itinerary.stays (area_code, departure_time) INCLUDE (person_id, arrival_time);

-- Batch idempotency: the first answer is kept and given again to a resend.
CREATE TABLE itinerary.ingest_batches (
    batch_id       text PRIMARY KEY,
    source_carrier text NOT NULL,
    receive_time   timestamptz NOT NULL,
    result         jsonb NOT NULL
);
CREATE INDEX ingest_batches_receive_time ON itinerary.ingest_batches (receive_time);

-- Append-only: a declaration is in force from its effective time until the next
-- declaration for the same area (level 0 = lifted). Nothing is overwritten.
CREATE TABLE itinerary.risk_declarations (
    declaration_id uuid PRIMARY KEY,
    area_code      char(6) NOT NULL,
    level          smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    effective_time timestamptz NOT NULL,
    authority      text NOT NULL,
    reason         text NOT NULL,
    request_id     text,
    create_time    timestamptz NOT NULL,
    UNIQUE (area_code, effective_time)
);
CREATE UNIQUE INDEX risk_declarations_request_id ON itinerary.risk_declarations (request_id)
    WHERE request_id IS NOT NULL;

CREATE VIEW itinerary.risk_periods AS
SELECT declaration_id, area_code, level, effective_time AS start_time,
       lead(effective_time) OVER (PARTITION BY area_code ORDER BY effective_time) AS end_time,
       authority, reason
FROM itinerary.risk_declarations;
