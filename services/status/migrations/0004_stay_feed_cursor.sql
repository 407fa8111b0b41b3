-- How far status has read itinerary's feed of newly risky stays (an opaque cursor of itinerary's).
CREATE TABLE status.stay_feed_cursor (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    cursor    text NOT NULL
);
