-- Entry policies beyond "N entries" (admit_domain::EntryPolicy): re-entry with pass-out and
-- multi-day passes, set per grade; the ticket's entry state for them; scan directions.

-- Per grade. reentry: one person at a time, an exit scan (pass-out) allows the next entry.
-- multi_day: valid at every session of the event, max_entries per session. Not both.
ALTER TABLE grades ADD COLUMN reentry BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE grades ADD COLUMN multi_day BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE grades ADD CONSTRAINT grades_one_special_policy CHECK (NOT (reentry AND multi_day));

-- Per ticket, compared and replaced by the one guarded update that takes an entry or an exit:
-- inside (a re-entry ticket's holder entered and has not passed out) and a multi-day pass's
-- entries per session as `session:count,…` (entries_used is then the count at the session
-- scanned last, so it stays within max_entries).
ALTER TABLE tickets ADD COLUMN inside BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE tickets ADD COLUMN session_entries TEXT NOT NULL DEFAULT '';

-- Gates sync these too.
CREATE TRIGGER tickets_sync_on_entry_state BEFORE UPDATE OF inside, session_entries ON tickets
FOR EACH ROW EXECUTE FUNCTION tickets_stamp_sync_xid();

-- Which way a logged scan went (an admitted exit is a pass-out, not an entry).
ALTER TABLE scans ADD COLUMN direction TEXT NOT NULL DEFAULT 'entry' CHECK (direction IN ('entry', 'exit'));
ALTER TABLE device_scans ADD COLUMN direction TEXT NOT NULL DEFAULT 'entry'
    CHECK (direction IN ('entry', 'exit'));
