-- How far status has followed identity's name corrections (names.py): codes and statuses show the
-- masked name identity has now, not the one of the person's enrolment.
CREATE TABLE status.name_cursor (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    changed_after timestamptz NOT NULL
);
