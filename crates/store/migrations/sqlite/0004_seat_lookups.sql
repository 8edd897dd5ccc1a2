-- Selling or releasing a hold's seats finds them by hold instead of scanning every seat.
CREATE INDEX seats_by_hold ON seats (hold_id) WHERE hold_id IS NOT NULL;
-- Best-available seeks the best row that still has a free seat, then reads that row alone.
DROP INDEX seats_by_grade;
CREATE INDEX seats_by_grade ON seats (session_id, grade_id, state, row_rank, row_label);
CREATE INDEX seats_by_row ON seats (session_id, grade_id, row_rank, row_label);
