-- Admit core schema (SQLite). Times are unix milliseconds; money is integer minor units.

CREATE TABLE organisers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE staff_tokens (
    token_hash BLOB PRIMARY KEY,
    organiser_id INTEGER NOT NULL REFERENCES organisers(id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'gate')),
    label TEXT NOT NULL
);

CREATE TABLE venues (
    id INTEGER PRIMARY KEY,
    organiser_id INTEGER NOT NULL REFERENCES organisers(id),
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL
);

CREATE TABLE gates (
    id INTEGER PRIMARY KEY,
    venue_id INTEGER NOT NULL REFERENCES venues(id),
    name TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    organiser_id INTEGER NOT NULL REFERENCES organisers(id),
    venue_id INTEGER NOT NULL REFERENCES venues(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    currency TEXT NOT NULL,
    route_from TEXT,
    route_to TEXT,
    key_id INTEGER NOT NULL UNIQUE,
    signing_secret BLOB NOT NULL,
    public_key BLOB NOT NULL,
    inspection_key BLOB NOT NULL
);

CREATE TABLE grades (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    seating TEXT NOT NULL CHECK (seating IN ('reserved', 'general_admission')),
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    max_entries INTEGER NOT NULL CHECK (max_entries >= 1),
    UNIQUE (event_id, code)
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id),
    label TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    doors_at INTEGER NOT NULL
);

-- Per session and grade: general-admission units, or the seat counts of a reserved grade.
CREATE TABLE inventory (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    grade_id INTEGER NOT NULL REFERENCES grades(id),
    total INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    sold INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, grade_id),
    CHECK (held >= 0 AND sold >= 0 AND held + sold <= total)
);

CREATE TABLE seats (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    grade_id INTEGER NOT NULL REFERENCES grades(id),
    section TEXT NOT NULL,
    row_label TEXT NOT NULL,
    row_rank INTEGER NOT NULL,
    number INTEGER NOT NULL,
    label TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'held', 'sold')),
    hold_id TEXT,
    UNIQUE (session_id, label),
    CHECK ((state = 'free') = (hold_id IS NULL))
);
CREATE INDEX seats_by_grade ON seats (session_id, grade_id, state);

CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    state TEXT NOT NULL CHECK (state IN ('active', 'converted', 'released', 'expired')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL
);
CREATE INDEX holds_active_by_expiry ON holds (expires_at) WHERE state = 'active';

CREATE TABLE hold_lines (
    hold_id TEXT NOT NULL REFERENCES holds(id),
    line INTEGER NOT NULL,
    grade_id INTEGER NOT NULL REFERENCES grades(id),
    seat_id INTEGER REFERENCES seats(id),
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    unit_price_minor INTEGER NOT NULL,
    PRIMARY KEY (hold_id, line)
);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    hold_id TEXT NOT NULL REFERENCES holds(id),
    gateway TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined', 'timed_out', 'refunded')),
    detail TEXT,
    authorization TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- One attempt at a time per hold; at most one approval turns into an order.
CREATE UNIQUE INDEX payments_one_pending_per_hold ON payments (hold_id) WHERE state = 'pending';
CREATE UNIQUE INDEX payments_one_approved_per_hold ON payments (hold_id) WHERE state = 'approved';
CREATE INDEX payments_by_state ON payments (state, updated_at);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    hold_id TEXT NOT NULL UNIQUE REFERENCES holds(id),
    payment_id TEXT NOT NULL UNIQUE REFERENCES payments(id),
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    state TEXT NOT NULL CHECK (state IN ('paid', 'refunded')),
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
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
    CHECK (entries_used <= max_entries)
);
-- The last line of defence for invariant 1: one valid ticket per seat.
CREATE UNIQUE INDEX tickets_one_valid_per_seat ON tickets (seat_id) WHERE seat_id IS NOT NULL AND status = 'valid';
CREATE INDEX tickets_by_session ON tickets (session_id);
CREATE INDEX tickets_by_order ON tickets (order_id);

CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER,
    ticket_version INTEGER,
    session_id INTEGER NOT NULL,
    gate_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('admit', 'deny')),
    reason TEXT
);
CREATE INDEX scans_by_ticket ON scans (ticket_id);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    locked_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
