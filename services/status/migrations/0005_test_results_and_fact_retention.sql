-- The latest negative nucleic-acid result of a status (its sample time; NULL with none, or when
-- the latest result is positive): what GetStatus shows and codes carry, "negative, sampled then".
ALTER TABLE status.statuses ADD COLUMN negative_test_time timestamptz;

-- Facts of kinds kept only for a bounded time (fever-medicine purchases, fever-clinic visits,
-- hotel registrations) are deleted at retain_until whatever the person's colour; NULL: kept
-- under the general rule (old facts of plainly green persons).
ALTER TABLE status.facts ADD COLUMN retain_until timestamptz;
CREATE INDEX facts_retain_until ON status.facts (retain_until) WHERE retain_until IS NOT NULL;
