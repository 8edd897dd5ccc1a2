-- Entry policies beyond "N entries" (admit_domain::EntryPolicy): re-entry with pass-out and
-- multi-day passes, set per grade; the ticket's entry state for them; scan directions.

-- Per grade. reentry: one person at a time, an exit scan (pass-out) allows the next entry.
-- multi_day: valid at every session of the event, max_entries per session. Not both.
ALTER TABLE grades ADD COLUMN reentry INTEGER NOT NULL DEFAULT 0 CHECK (reentry IN (0, 1));
ALTER TABLE grades ADD COLUMN multi_day INTEGER NOT NULL DEFAULT 0 CHECK (multi_day IN (0, 1));

-- Per ticket, compared and replaced by the one guarded update that takes an entry or an exit:
-- inside (a re-entry ticket's holder entered and has not passed out) and a multi-day pass's
-- entries per session as `session:count,…` (entries_used is then the count at the session
-- scanned last, so it stays within max_entries).
ALTER TABLE tickets ADD COLUMN inside INTEGER NOT NULL DEFAULT 0 CHECK (inside IN (0, 1));
ALTER TABLE tickets ADD COLUMN session_entries TEXT NOT NULL DEFAULT '';

-- Gates sync these too.
CREATE TRIGGER tickets_sync_on_entry_state AFTER UPDATE OF inside, session_entries ON tickets
BEGIN
    UPDATE sync_clock SET rev = rev + 1 WHERE id = 1;
    UPDATE tickets SET sync_rev = (SELECT rev FROM sync_clock WHERE id = 1) WHERE id = NEW.id;
END;

-- Which way a logged scan went (an admitted exit is a pass-out, not an entry).
ALTER TABLE scans ADD COLUMN direction TEXT NOT NULL DEFAULT 'entry' CHECK (direction IN ('entry', 'exit'));
ALTER TABLE device_scans ADD COLUMN direction TEXT NOT NULL DEFAULT 'entry'
    CHECK (direction IN ('entry', 'exit'));
