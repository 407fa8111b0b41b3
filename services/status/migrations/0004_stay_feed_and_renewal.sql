-- How far status has read itinerary's feed of newly risky stays (an opaque cursor of itinerary's).
CREATE TABLE status.stay_feed_cursor (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    cursor    text NOT NULL
);

-- Statuses about to lapse, in lapse order: the renewal job renews those whose decision does not
-- change at the lapse before it comes (Beijing's midnight), so the first read after it is stored.
CREATE INDEX statuses_valid_until ON status.statuses (valid_until, person_id);
