-- A device presentation (`ADP1:`) admits once (DESIGN §5): the last one accepted for a ticket,
-- as the ticket version it was signed for and its counter (the phone's clock in seconds).
-- Both NULL until a presentation is accepted. Compared and replaced by the one guarded update
-- that takes an entry or an exit, so a presentation whose counter is not newer is `replayed`.
-- (Every such update also changes entries_used or inside, whose trigger stamps the sync feed.)
ALTER TABLE tickets ADD COLUMN device_version BIGINT, ADD COLUMN device_counter BIGINT;

-- The counter of an uploaded offline scan of a presentation, reconciled by the same rule.
ALTER TABLE device_scans ADD COLUMN device_counter BIGINT;
