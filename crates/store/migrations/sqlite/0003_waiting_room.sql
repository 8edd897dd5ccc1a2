-- On-sale waiting room: per-event admission state and the queue of buyers.
CREATE TABLE waiting_rooms (
    event_id INTEGER PRIMARY KEY REFERENCES events(id),
    opens_at INTEGER NOT NULL,
    admit_per_minute INTEGER NOT NULL CHECK (admit_per_minute >= 1),
    pass_ttl_ms INTEGER NOT NULL CHECK (pass_ttl_ms >= 1000),
    drawn INTEGER NOT NULL DEFAULT 0 CHECK (drawn IN (0, 1)),
    next_seq INTEGER NOT NULL DEFAULT 0,
    frontier INTEGER NOT NULL DEFAULT 0,
    frontier_at INTEGER NOT NULL
);

CREATE TABLE queue_entries (
    event_id INTEGER NOT NULL REFERENCES waiting_rooms(event_id),
    id TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    lottery INTEGER NOT NULL,
    seq INTEGER,
    admitted_at INTEGER,
    PRIMARY KEY (event_id, id)
);
CREATE UNIQUE INDEX queue_entries_by_seq ON queue_entries (event_id, seq);
