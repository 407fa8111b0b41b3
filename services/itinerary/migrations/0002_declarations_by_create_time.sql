-- Declarations in the order they were recorded: services that follow the history of
-- risk areas page through it by (create_time, declaration_id).
CREATE INDEX risk_declarations_by_create_time ON itinerary.risk_declarations (create_time, declaration_id);

-- Each period also says when its declaration was recorded (new columns go last: a
-- view may only grow at its end).
CREATE OR REPLACE VIEW itinerary.risk_periods AS
SELECT declaration_id, area_code, level, effective_time AS start_time,
       lead(effective_time) OVER (PARTITION BY area_code ORDER BY effective_time) AS end_time,
       authority, reason, create_time
FROM itinerary.risk_declarations;
