-- A batch id is the carrier's own: two carriers may choose the same one ("2026-12-03-001") without the
-- second batch being taken for a resend of the first (its stays dropped, the first one's answer given).
ALTER TABLE itinerary.ingest_batches DROP CONSTRAINT ingest_batches_pkey;
ALTER TABLE itinerary.ingest_batches ADD PRIMARY KEY (source_carrier, batch_id);
