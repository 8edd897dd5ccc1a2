-- The buyer's phone: one-time login links, buyer sessions and the orders they grant, the
-- device key a ticket is bound to (with a log of every binding), and inspections done by
-- pressing "Check" on the phone. Secrets (link tokens, session cookies) are stored as SHA-256.

CREATE TABLE login_links (
    token_hash BLOB PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX login_links_by_order ON login_links (order_id);

CREATE TABLE buyer_sessions (
    session_hash BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE buyer_session_orders (
    session_hash BLOB NOT NULL REFERENCES buyer_sessions(session_hash),
    order_id TEXT NOT NULL REFERENCES orders(id),
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (session_hash, order_id)
);

-- The device key the current credential version names (NULL: not bound).
ALTER TABLE tickets ADD COLUMN device_algorithm TEXT CHECK (device_algorithm IN ('Ed25519', 'P-256'));
ALTER TABLE tickets ADD COLUMN device_key BLOB;
ALTER TABLE tickets ADD COLUMN device_bound_at INTEGER;

CREATE TABLE device_bindings (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    old_algorithm TEXT,
    old_key BLOB,
    new_algorithm TEXT NOT NULL,
    new_key BLOB NOT NULL,
    from_version INTEGER NOT NULL,
    to_version INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX device_bindings_by_ticket ON device_bindings (ticket_id);

CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    ticket_version INTEGER NOT NULL,
    session_hash BLOB NOT NULL,
    at INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('admit', 'deny')),
    reason TEXT
);
CREATE INDEX inspections_by_ticket ON inspections (ticket_id);
