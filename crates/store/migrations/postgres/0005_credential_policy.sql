-- Per-event credential policy (issue 4): whether static credentials admit, how often the
-- phone refreshes its dynamic QR code, and how far a device proof may be from the gate's clock.
ALTER TABLE events
    ADD COLUMN static_accepted BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN rotation_seconds BIGINT NOT NULL DEFAULT 10 CHECK (rotation_seconds BETWEEN 2 AND 300),
    ADD COLUMN proof_window_seconds BIGINT NOT NULL DEFAULT 30 CHECK (proof_window_seconds <= 600),
    ADD CONSTRAINT events_proof_window_covers_rotation CHECK (proof_window_seconds >= rotation_seconds);
