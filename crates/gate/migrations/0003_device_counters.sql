-- A phone presentation (`ADP1:`) admits once (DESIGN §5), offline too.

-- The counter of each scanned presentation (NULL for a static code): the admits in this log
-- are the presentations this terminal accepted, refused as `replayed` when shown again.
ALTER TABLE scans ADD COLUMN device_counter INTEGER;

-- The last presentation the server had accepted for the ticket at the last sync (the ticket
-- version it was signed for, and its counter); NULL when none.
ALTER TABLE tickets ADD COLUMN server_device_version INTEGER;
ALTER TABLE tickets ADD COLUMN server_device_counter INTEGER;

-- Keys of the organiser's events at other venues (synced): a genuine ticket signed with one is
-- for another event (`wrong_event`), not a forgery. Never used to admit.
CREATE TABLE other_event_keys (
    key_id INTEGER PRIMARY KEY,
    public_key BLOB NOT NULL
);
