-- A replayed 201 must carry the same Location header as the first answer.
ALTER TABLE idempotency_keys ADD COLUMN location TEXT;
