-- One trigger stamps a ticket's sync position for every column a gate terminal syncs, where
-- two (0007's and 0008's) both ran on each admitted scan, which changes `entries_used` and
-- the entry state together. As SQLite's migration 0009 does for its triggers.
DROP TRIGGER tickets_sync_on_entry_state ON tickets;
DROP TRIGGER tickets_sync_on_change ON tickets;
CREATE TRIGGER tickets_sync_on_change BEFORE UPDATE OF version, status, entries_used, inside, session_entries ON tickets
FOR EACH ROW EXECUTE FUNCTION tickets_stamp_sync_xid();
