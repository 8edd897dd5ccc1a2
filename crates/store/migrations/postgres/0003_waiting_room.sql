-- On-sale waiting room: per-event admission state and the queue of buyers.
CREATE TABLE waiting_rooms (
    event_id BIGINT PRIMARY KEY REFERENCES events(id),
    opens_at BIGINT NOT NULL,
    admit_per_minute BIGINT NOT NULL CHECK (admit_per_minute >= 1),
    pass_ttl_ms BIGINT NOT NULL CHECK (pass_ttl_ms >= 1000),
    drawn BOOLEAN NOT NULL DEFAULT FALSE,
    next_seq BIGINT NOT NULL DEFAULT 0,
    frontier BIGINT NOT NULL DEFAULT 0,
    frontier_at BIGINT NOT NULL
);

CREATE TABLE queue_entries (
    event_id BIGINT NOT NULL REFERENCES waiting_rooms(event_id),
    id TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    lottery BIGINT NOT NULL,
    seq BIGINT,
    admitted_at BIGINT,
    PRIMARY KEY (event_id, id)
);
CREATE UNIQUE INDEX queue_entries_by_seq ON queue_entries (event_id, seq);
