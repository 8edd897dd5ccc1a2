-- Idempotency records expire: `expires_at` (unix ms) is when the background sweeper may
-- delete one and a new request may use its key again. Records written before this migration
-- keep a day from their creation. `headers` holds the further response headers a replay
-- repeats (Cache-Control, Retry-After), one `name: value` a line.
ALTER TABLE idempotency_keys ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN headers TEXT;
UPDATE idempotency_keys SET expires_at = created_at + 86400000;
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
