-- The gate terminal's local file: its enrolment, what it synced, and its scan log.
-- Times are unix milliseconds. No holder names or phone numbers are stored (DESIGN §5).

-- Where the server is and who this terminal is there. The token is the terminal's only
-- credential; the file is created readable by its owner only.
CREATE TABLE enrolment (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    server TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    device_token TEXT NOT NULL,
    gate_id INTEGER NOT NULL,
    venue_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL
);

-- The cursor of the last complete sync (NULL: never synced) and when it finished.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor TEXT,
    synced_at INTEGER
);
INSERT INTO sync_state (id) VALUES (1);

-- Verification keys of the events at the venue.
CREATE TABLE keys (
    key_id INTEGER PRIMARY KEY,
    public_key BLOB NOT NULL
);

-- Sessions at the venue with their event's key and credential policy.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL,
    event_name TEXT NOT NULL,
    name TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    doors_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    static_accepted INTEGER NOT NULL,
    rotation_seconds INTEGER NOT NULL,
    proof_window_seconds INTEGER NOT NULL
);

-- Entries each grade allows, for tickets issued after the last sync.
CREATE TABLE grades (
    event_id INTEGER NOT NULL,
    code TEXT NOT NULL,
    max_entries INTEGER NOT NULL,
    PRIMARY KEY (event_id, code)
);

-- The version/revocation list: the server's view as of the last sync (entries it counted),
-- raised at once by what this terminal learns from its own uploads and online checks.
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    server_entries_used INTEGER NOT NULL,
    max_entries INTEGER NOT NULL
);

-- Every scan, written and committed before its verdict is shown. `uploaded` = the server
-- knows it (uploaded, or decided online). `outcome` is what reconciliation made of it.
CREATE TABLE scans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scanned_at INTEGER NOT NULL,
    gate_id INTEGER NOT NULL,
    session_id INTEGER,
    ticket_id INTEGER,
    ticket_version INTEGER,
    verdict TEXT NOT NULL CHECK (verdict IN ('admit', 'deny')),
    reason TEXT,
    latitude REAL,
    longitude REAL,
    source TEXT NOT NULL CHECK (source IN ('offline', 'online')),
    uploaded INTEGER NOT NULL DEFAULT 0,
    outcome TEXT
);
CREATE INDEX scans_pending ON scans (uploaded, seq);
CREATE INDEX scans_by_ticket ON scans (ticket_id);
