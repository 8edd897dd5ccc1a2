-- Spread counters (DESIGN §7): each (session, grade) quota is split over 32 shard rows so
-- that concurrent holds and sales of one grade update different rows instead of queueing on
-- one row lock across every durable commit.
--
-- `taken` counts the shard's units that are held or sold; a hold takes units from a shard and
-- remembers which (hold_shards), and a cancel or expiry gives exactly those back. A sale does
-- not change what is free, so it only counts `sold` on whichever shard of the grade is not
-- locked at that moment: per grade, held = SUM(taken) - SUM(sold).
CREATE TABLE inventory_shards (
    session_id BIGINT NOT NULL REFERENCES sessions(id),
    grade_id BIGINT NOT NULL REFERENCES grades(id),
    shard INTEGER NOT NULL CHECK (shard >= 0),
    total BIGINT NOT NULL,
    taken BIGINT NOT NULL DEFAULT 0,
    sold BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, grade_id, shard),
    CHECK (taken >= 0 AND taken <= total AND sold >= 0)
);

-- Existing counters: what is held or sold stays on shard 0, the units still free are dealt
-- out over all 32 shards.
INSERT INTO inventory_shards (session_id, grade_id, shard, total, taken, sold)
SELECT i.session_id, i.grade_id, k,
       (i.total - i.held - i.sold) / 32
       + CASE WHEN k < (i.total - i.held - i.sold) % 32 THEN 1 ELSE 0 END
       + CASE WHEN k = 0 THEN i.held + i.sold ELSE 0 END,
       CASE WHEN k = 0 THEN i.held + i.sold ELSE 0 END,
       CASE WHEN k = 0 THEN i.sold ELSE 0 END
FROM inventory i CROSS JOIN generate_series(0, 31) AS k;

-- Units a hold took from each shard of a grade.
CREATE TABLE hold_shards (
    hold_id TEXT NOT NULL REFERENCES holds(id),
    grade_id BIGINT NOT NULL REFERENCES grades(id),
    shard INTEGER NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity >= 1),
    PRIMARY KEY (hold_id, grade_id, shard)
);

INSERT INTO hold_shards (hold_id, grade_id, shard, quantity)
SELECT l.hold_id, l.grade_id, 0, SUM(l.quantity)
FROM hold_lines l JOIN holds h ON h.id = l.hold_id
WHERE h.state = 'active'
GROUP BY l.hold_id, l.grade_id;

DROP TABLE inventory;

-- The per-grade totals, for readers (availability, invariant checks); writers use the shards.
CREATE VIEW inventory AS
SELECT session_id, grade_id,
       CAST(SUM(total) AS BIGINT) AS total,
       CAST(SUM(taken) - SUM(sold) AS BIGINT) AS held,
       CAST(SUM(sold) AS BIGINT) AS sold
FROM inventory_shards
GROUP BY session_id, grade_id;
