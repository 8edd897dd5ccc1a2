-- Tickets stored in the order they were sold (issue 3). A ticket's id is random (it is in the
-- credential and the printed reference, and must not tell how many tickets an event sold), and
-- as `INTEGER PRIMARY KEY` it was the table's rowid: each new ticket, the widest row of the
-- database, landed on a random page of the table, so every group commit rewrote hundreds of
-- scattered pages into the WAL. Now the rows are keyed by `seq`, which only grows, and the
-- random id lives in a unique index of small entries; new tickets append at the table's end.
--
-- SQLite cannot change a table's key in place: this is its documented rebuild (new table,
-- copy, drop, rename; https://sqlite.org/lang_altertable.html#otheralter), which needs foreign
-- keys off, as the store runs migrations (sqlite/mod.rs, which then runs
-- `PRAGMA foreign_key_check`). `device_bindings` and `inspections` keep referring to
-- `tickets (id)`, now the unique column.
CREATE TABLE tickets_in_sale_order (
    seq INTEGER PRIMARY KEY,
    id INTEGER NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders(id),
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    grade_id INTEGER NOT NULL REFERENCES grades(id),
    seat_id INTEGER REFERENCES seats(id),
    reference TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('valid', 'canceled')),
    entries_used INTEGER NOT NULL DEFAULT 0,
    max_entries INTEGER NOT NULL,
    price_minor INTEGER NOT NULL,
    credential TEXT NOT NULL,
    inspection_code TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    device_algorithm TEXT CHECK (device_algorithm IN ('Ed25519', 'P-256')),
    device_key BLOB,
    device_bound_at INTEGER,
    sync_rev INTEGER NOT NULL DEFAULT 1,
    inside INTEGER NOT NULL DEFAULT 0 CHECK (inside IN (0, 1)),
    session_entries TEXT NOT NULL DEFAULT '',
    CHECK (entries_used <= max_entries)
);
INSERT INTO tickets_in_sale_order (
    id, order_id, session_id, grade_id, seat_id, reference, version, status, entries_used, max_entries, price_minor,
    credential, inspection_code, created_at, device_algorithm, device_key, device_bound_at, sync_rev, inside,
    session_entries)
SELECT id, order_id, session_id, grade_id, seat_id, reference, version, status, entries_used, max_entries, price_minor,
       credential, inspection_code, created_at, device_algorithm, device_key, device_bound_at, sync_rev, inside,
       session_entries
FROM tickets ORDER BY created_at, id;
DROP TABLE tickets;
ALTER TABLE tickets_in_sale_order RENAME TO tickets;

-- The indexes and triggers went with the old table (0001, 0007, 0008). The triggers now find
-- the new row by its key, and one trigger covers every column a gate terminal syncs, where two
-- (0007's and 0008's) both fired on each admitted scan and bumped the clock twice.
CREATE UNIQUE INDEX tickets_one_valid_per_seat ON tickets (seat_id) WHERE seat_id IS NOT NULL AND status = 'valid';
CREATE INDEX tickets_by_session ON tickets (session_id);
CREATE INDEX tickets_by_order ON tickets (order_id);
CREATE INDEX tickets_by_session_and_rev ON tickets (session_id, sync_rev);

CREATE TRIGGER tickets_sync_on_insert AFTER INSERT ON tickets
BEGIN
    UPDATE sync_clock SET rev = rev + 1 WHERE id = 1;
    UPDATE tickets SET sync_rev = (SELECT rev FROM sync_clock WHERE id = 1) WHERE seq = NEW.seq;
END;

CREATE TRIGGER tickets_sync_on_change AFTER UPDATE OF version, status, entries_used, inside, session_entries ON tickets
BEGIN
    UPDATE sync_clock SET rev = rev + 1 WHERE id = 1;
    UPDATE tickets SET sync_rev = (SELECT rev FROM sync_clock WHERE id = 1) WHERE seq = NEW.seq;
END;
