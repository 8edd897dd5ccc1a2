-- Per-event credential policy (issue 4): whether static credentials admit, how often the
-- phone refreshes its dynamic QR code, and how far a device proof may be from the gate's clock.
ALTER TABLE events ADD COLUMN static_accepted INTEGER NOT NULL DEFAULT 1 CHECK (static_accepted IN (0, 1));
ALTER TABLE events ADD COLUMN rotation_seconds INTEGER NOT NULL DEFAULT 10
    CHECK (rotation_seconds BETWEEN 2 AND 300);
ALTER TABLE events ADD COLUMN proof_window_seconds INTEGER NOT NULL DEFAULT 30
    CHECK (proof_window_seconds BETWEEN rotation_seconds AND 600);
