-- Entry policies beyond "N entries" (admit_domain::EntryPolicy): re-entry with pass-out and
-- multi-day passes, and the direction of each scan (an exit lane's terminal scans exits).

-- Per grade (synced): reentry = pass-out allowed, one person inside at a time; multi_day = valid
-- at every session of the event, max_entries per session.
ALTER TABLE grades ADD COLUMN reentry INTEGER NOT NULL DEFAULT 0;
ALTER TABLE grades ADD COLUMN multi_day INTEGER NOT NULL DEFAULT 0;

-- The server's entry state at the last sync, moved on by what this terminal learns from its own
-- uploads and online checks: inside (entered, not passed out) and a pass's entries per session
-- (`session:count,…`).
ALTER TABLE tickets ADD COLUMN server_inside INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN server_session_entries TEXT NOT NULL DEFAULT '';

ALTER TABLE scans ADD COLUMN direction TEXT NOT NULL DEFAULT 'entry' CHECK (direction IN ('entry', 'exit'));
