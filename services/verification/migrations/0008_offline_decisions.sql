-- Decisions a checkpoint made offline and uploaded later: their id is the device's (a retried
-- upload hits the primary key and changes nothing), their time the device's clock.
ALTER TABLE verification.decisions ADD COLUMN recorded_offline boolean NOT NULL DEFAULT false;
