-- Gate terminals (issue 4): enrolled devices, incremental sync of the ticket list, uploaded
-- offline scans with their reconciliation outcome.

-- A terminal enrolled for one gate. Its bearer token is stored only as SHA-256.
CREATE TABLE gate_devices (
    id INTEGER PRIMARY KEY,
    gate_id INTEGER NOT NULL REFERENCES gates(id),
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX gate_devices_by_gate ON gate_devices (gate_id);

-- Change tracking for `GET /gate/sync?since=…`: every insert of a ticket and every change of
-- what a gate decides on (version, status, entries used) stamps the row with the next value
-- of one counter. SQLite has one writer, so every stamp at or below the counter a reader
-- sees is committed: the counter is an exact watermark.
CREATE TABLE sync_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO sync_clock (id, rev) VALUES (1, 1);

ALTER TABLE tickets ADD COLUMN sync_rev INTEGER NOT NULL DEFAULT 1;
CREATE INDEX tickets_by_session_and_rev ON tickets (session_id, sync_rev);

CREATE TRIGGER tickets_sync_on_insert AFTER INSERT ON tickets
BEGIN
    UPDATE sync_clock SET rev = rev + 1 WHERE id = 1;
    UPDATE tickets SET sync_rev = (SELECT rev FROM sync_clock WHERE id = 1) WHERE id = NEW.id;
END;

CREATE TRIGGER tickets_sync_on_change AFTER UPDATE OF version, status, entries_used ON tickets
BEGIN
    UPDATE sync_clock SET rev = rev + 1 WHERE id = 1;
    UPDATE tickets SET sync_rev = (SELECT rev FROM sync_clock WHERE id = 1) WHERE id = NEW.id;
END;

-- Which device sent a scan (NULL: an online check), its sequence number on the device, and
-- where the gate stood.
ALTER TABLE scans ADD COLUMN device_id INTEGER REFERENCES gate_devices(id);
ALTER TABLE scans ADD COLUMN device_seq INTEGER;
ALTER TABLE scans ADD COLUMN latitude REAL;
ALTER TABLE scans ADD COLUMN longitude REAL;
CREATE INDEX scans_by_session_and_time ON scans (session_id, at);

-- Every scan a device uploaded, once per (device, seq): what the gate decided offline and
-- what the server made of it. `outcome`: counted (an admit that took an entry), conflict (an
-- admit the server could not count: no entry left, or the ticket was revoked/cancelled),
-- recorded (a denial, logged). A denial of an unreadable code at a gate admitting for any
-- session has no session.
CREATE TABLE device_scans (
    device_id INTEGER NOT NULL REFERENCES gate_devices(id),
    seq INTEGER NOT NULL,
    ticket_id INTEGER,
    ticket_version INTEGER,
    session_id INTEGER REFERENCES sessions(id),
    gate_id INTEGER NOT NULL REFERENCES gates(id),
    verdict TEXT NOT NULL CHECK (verdict IN ('admit', 'deny')),
    reason TEXT,
    scanned_at INTEGER NOT NULL,
    latitude REAL,
    longitude REAL,
    outcome TEXT NOT NULL CHECK (outcome IN ('counted', 'conflict', 'recorded')),
    conflict_reason TEXT,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq),
    CHECK ((outcome = 'conflict') = (conflict_reason IS NOT NULL))
);
CREATE INDEX device_scans_conflicts ON device_scans (session_id, scanned_at) WHERE outcome = 'conflict';
