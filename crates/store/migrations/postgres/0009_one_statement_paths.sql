-- The on-sale's hot paths as one statement each (issue 3): every statement of a transaction
-- awaited separately was one network round trip, about 30 per order. These functions run the
-- same steps, in the same order and with the same locks, inside the server; the Rust callers
-- (holds.rs, orders.rs) call each once, without BEGIN/COMMIT (a single statement is its own
-- transaction), and turn the answers into the same StoreError variants as before.
--
-- Lock order, as everywhere: hold -> payment -> seats -> inventory shards (grades ascending).
-- Each statement inside a function sees a fresh READ COMMITTED snapshot, as each statement of
-- the Rust transaction did. A refusal decided before any write is returned as a row; one
-- decided after a write raises, so the whole statement rolls back:
--   AD409  sold out (fewer units left than the hold asks for)

-- The shard to take `p_n` units of one grade from: the first with room for all of them in
-- rotation from `p_start`, or NULL when what is free is scattered over several shards. Raises
-- sold out when the grade has fewer than `p_n` units free in all.
CREATE FUNCTION admit_fitting_shard(p_session BIGINT, p_grade BIGINT, p_n BIGINT, p_start INTEGER)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    v_free BIGINT;
    v_shard INTEGER;
BEGIN
    SELECT COALESCE(SUM(i.total - i.taken), 0) INTO v_free FROM inventory_shards i
    WHERE i.session_id = p_session AND i.grade_id = p_grade;
    IF v_free < p_n THEN
        RAISE EXCEPTION 'sold out' USING ERRCODE = 'AD409';
    END IF;
    SELECT i.shard INTO v_shard FROM inventory_shards i
    WHERE i.session_id = p_session AND i.grade_id = p_grade AND i.total - i.taken >= p_n
    ORDER BY i.shard < p_start, i.shard LIMIT 1;
    RETURN v_shard;
END $$;

-- Counts `p_n` more units of one grade held by the hold, from one shard when one has room,
-- else spread over several, and records where they came from in hold_shards. The steps of
-- shards.rs: a shard nobody is writing (SKIP LOCKED, rotated from `p_start`); then up to 8
-- fresh looks, waiting for a shard that shows room; then every shard of the grade locked in
-- shard order.
CREATE FUNCTION admit_take_units(p_hold TEXT, p_session BIGINT, p_grade BIGINT, p_n BIGINT, p_start INTEGER)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    v_shard INTEGER;
    v_left BIGINT := p_n;
    v_q BIGINT;
    r RECORD;
BEGIN
    WITH claimed AS (
        UPDATE inventory_shards s SET taken = s.taken + p_n
        WHERE s.session_id = p_session AND s.grade_id = p_grade AND s.total - s.taken >= p_n AND s.shard = (
            SELECT i.shard FROM inventory_shards i
            WHERE i.session_id = p_session AND i.grade_id = p_grade AND i.total - i.taken >= p_n
            ORDER BY i.shard < p_start, i.shard LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING s.shard)
    INSERT INTO hold_shards (hold_id, grade_id, shard, quantity) SELECT p_hold, p_grade, claimed.shard, p_n FROM claimed;
    IF FOUND THEN
        RETURN;
    END IF;
    -- Every shard with room is being written: a fresh committed view decides.
    FOR look IN 1..8 LOOP
        v_shard := admit_fitting_shard(p_session, p_grade, p_n, p_start);
        EXIT WHEN v_shard IS NULL;
        UPDATE inventory_shards s SET taken = s.taken + p_n
        WHERE s.session_id = p_session AND s.grade_id = p_grade AND s.shard = v_shard AND s.total - s.taken >= p_n;
        IF FOUND THEN
            INSERT INTO hold_shards (hold_id, grade_id, shard, quantity) VALUES (p_hold, p_grade, v_shard, p_n);
            RETURN;
        END IF;
    END LOOP;
    -- The slow path: every shard of the grade locked in shard order, then one shard that
    -- fits, else units from several (shard order).
    PERFORM 1 FROM inventory_shards i WHERE i.session_id = p_session AND i.grade_id = p_grade
    ORDER BY i.shard FOR UPDATE;
    v_shard := admit_fitting_shard(p_session, p_grade, p_n, p_start);
    IF v_shard IS NOT NULL THEN
        UPDATE inventory_shards s SET taken = s.taken + p_n
        WHERE s.session_id = p_session AND s.grade_id = p_grade AND s.shard = v_shard;
        INSERT INTO hold_shards (hold_id, grade_id, shard, quantity) VALUES (p_hold, p_grade, v_shard, p_n);
        RETURN;
    END IF;
    FOR r IN SELECT i.shard, i.total - i.taken AS free FROM inventory_shards i
             WHERE i.session_id = p_session AND i.grade_id = p_grade AND i.total - i.taken > 0 ORDER BY i.shard LOOP
        v_q := LEAST(r.free, v_left);
        UPDATE inventory_shards s SET taken = s.taken + v_q
        WHERE s.session_id = p_session AND s.grade_id = p_grade AND s.shard = r.shard;
        INSERT INTO hold_shards (hold_id, grade_id, shard, quantity) VALUES (p_hold, p_grade, r.shard, v_q);
        v_left := v_left - v_q;
        EXIT WHEN v_left = 0;
    END LOOP;
END $$;

-- Inserts an active hold with its lines (seats already claimed by the caller), then takes
-- the units of each grade, grades ascending: the counters last, so a shard row is locked for
-- as short a time as possible before the commit.
CREATE FUNCTION admit_insert_hold(
    p_id TEXT, p_session BIGINT, p_now BIGINT, p_expires BIGINT, p_total BIGINT, p_currency TEXT,
    p_grades BIGINT[], p_seats BIGINT[], p_quantities BIGINT[], p_prices BIGINT[], p_start INTEGER)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    WITH hold AS (
        INSERT INTO holds (id, session_id, state, created_at, expires_at, total_minor, currency)
        VALUES (p_id, p_session, 'active', p_now, p_expires, p_total, p_currency) RETURNING id)
    INSERT INTO hold_lines (hold_id, line, grade_id, seat_id, quantity, unit_price_minor)
    SELECT hold.id, l.ord - 1, l.grade_id, l.seat_id, l.quantity, l.price
    FROM hold, UNNEST(p_grades, p_seats, p_quantities, p_prices) WITH ORDINALITY AS l (grade_id, seat_id, quantity, price, ord);
    FOR r IN SELECT l.grade_id, CAST(SUM(l.quantity) AS BIGINT) AS n
             FROM UNNEST(p_grades, p_quantities) AS l (grade_id, quantity)
             GROUP BY l.grade_id ORDER BY l.grade_id LOOP
        PERFORM admit_take_units(p_id, p_session, r.grade_id, r.n, p_start);
    END LOOP;
END $$;

-- A general-admission hold in one statement. Refusals decided before any write come back with
-- nothing written: no such session (`o_session_found` false), or a grade not offered in the
-- session (`o_seating` NULL) or not sold as units (`o_created` false). Also returns what the
-- caller needs to describe the new hold without reading it back.
CREATE FUNCTION admit_hold_units(
    p_id TEXT, p_session BIGINT, p_grade BIGINT, p_quantity BIGINT, p_now BIGINT, p_expires BIGINT, p_start INTEGER,
    OUT o_session_found BOOLEAN, OUT o_created BOOLEAN, OUT o_event_id BIGINT, OUT o_currency TEXT,
    OUT o_seating TEXT, OUT o_price BIGINT, OUT o_code TEXT, OUT o_max_entries BIGINT, OUT o_reentry BOOLEAN,
    OUT o_multi_day BOOLEAN)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.event_id, e.currency, g.seating, g.price_minor, g.code, g.max_entries, g.reentry, g.multi_day
    INTO o_event_id, o_currency, o_seating, o_price, o_code, o_max_entries, o_reentry, o_multi_day
    FROM sessions s JOIN events e ON e.id = s.event_id
    LEFT JOIN grades g ON g.id = p_grade AND g.event_id = s.event_id
    WHERE s.id = p_session;
    o_session_found := FOUND;
    o_created := false;
    IF o_session_found AND o_seating = 'general_admission' THEN
        -- admit_insert_hold for one line, without the nested calls.
        WITH hold AS (
            INSERT INTO holds (id, session_id, state, created_at, expires_at, total_minor, currency)
            VALUES (p_id, p_session, 'active', p_now, p_expires, o_price * p_quantity, o_currency) RETURNING id)
        INSERT INTO hold_lines (hold_id, line, grade_id, seat_id, quantity, unit_price_minor)
        SELECT hold.id, 0, p_grade, NULL, p_quantity, o_price FROM hold;
        PERFORM admit_take_units(p_id, p_session, p_grade, p_quantity, p_start);
        o_created := true;
    END IF;
END $$;

-- Completes an order in one statement: the steps of orders.rs `complete`, in its order, with
-- the writes grouped into as few statements as keep the lock order. Returns the order's id
-- (`o_order`: a new one, or the one this payment already made: idempotent), or a refusal
-- decided before any write (`o_refusal`, with `o_detail`):
--   payment_not_found, payment_other_hold, payment_state (detail: its state),
--   hold_not_found, hold_state (detail: its effective state),
--   ticket_count (detail: how many units the hold has), ticket_mismatch.
-- A seat count that does not add up raises (nothing is kept); a taken seat or ticket id raises
-- the unique violation of the tickets table. The confirmation's login link, when given, is
-- stored for the returned order.
CREATE FUNCTION admit_complete_order(
    p_order TEXT, p_hold TEXT, p_payment TEXT, p_authorization TEXT, p_now BIGINT, p_start INTEGER,
    p_ids BIGINT[], p_grades BIGINT[], p_seats BIGINT[], p_references TEXT[], p_versions BIGINT[],
    p_max_entries BIGINT[], p_prices BIGINT[], p_credentials TEXT[], p_inspection_codes TEXT[],
    p_link_hash BYTEA, p_link_expires BIGINT,
    OUT o_order TEXT, OUT o_refusal TEXT, OUT o_detail TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    h RECORD;
    p RECORD;
    v_sold BIGINT;
BEGIN
    -- The hold first: a second completion of the same payment waits here, then finds the order.
    SELECT hh.session_id, hh.state, hh.expires_at, hh.total_minor, hh.currency INTO h
    FROM holds hh WHERE hh.id = p_hold FOR UPDATE;
    SELECT o.id INTO o_order FROM orders o WHERE o.payment_id = p_payment;
    IF o_order IS NOT NULL THEN
        INSERT INTO login_links (token_hash, order_id, created_at, expires_at)
        SELECT p_link_hash, o_order, p_now, p_link_expires WHERE p_link_hash IS NOT NULL;
        RETURN;
    END IF;
    -- Then the payment, with what the checks need of the hold's lines (which never change):
    -- units and seats, whether the tickets are exactly the lines made permanent (one per unit,
    -- of the line's grade and seat), and the units per grade in ascending grade order.
    SELECT pp.hold_id, pp.state, lines.units, lines.seats, lines.grades, lines.per_grade,
           NOT EXISTS (
               SELECT l.grade_id, l.seat_id FROM hold_lines l CROSS JOIN generate_series(1, l.quantity)
               WHERE l.hold_id = p_hold
               EXCEPT ALL
               SELECT t.grade_id, t.seat_id FROM UNNEST(p_grades, p_seats) AS t (grade_id, seat_id)) AS tickets_match
    INTO p
    FROM payments pp, LATERAL (
        SELECT CAST(COALESCE(SUM(g.n), 0) AS BIGINT) AS units, CAST(COALESCE(SUM(g.s), 0) AS BIGINT) AS seats,
               array_agg(g.grade_id ORDER BY g.grade_id) AS grades, array_agg(g.n ORDER BY g.grade_id) AS per_grade
        FROM (SELECT l.grade_id, CAST(SUM(l.quantity) AS BIGINT) AS n,
                     SUM(l.quantity) FILTER (WHERE l.seat_id IS NOT NULL) AS s
              FROM hold_lines l WHERE l.hold_id = p_hold GROUP BY l.grade_id) AS g) AS lines
    WHERE pp.id = p_payment FOR UPDATE OF pp;
    IF p.hold_id IS NULL THEN
        o_refusal := 'payment_not_found';
    ELSIF p.hold_id <> p_hold THEN
        o_refusal := 'payment_other_hold';
    ELSIF p.state <> 'pending' THEN
        o_refusal := 'payment_state';
        o_detail := p.state;
    ELSIF h.state IS NULL THEN
        o_refusal := 'hold_not_found';
    ELSIF h.state = 'active' AND p_now >= h.expires_at THEN
        o_refusal := 'hold_state';
        o_detail := 'expired';
    ELSIF h.state <> 'active' THEN
        o_refusal := 'hold_state';
        o_detail := h.state;
    ELSIF p.units <> COALESCE(cardinality(p_ids), 0) THEN
        o_refusal := 'ticket_count';
        o_detail := p.units::TEXT;
    ELSIF NOT p.tickets_match THEN
        o_refusal := 'ticket_mismatch';
    END IF;
    IF o_refusal IS NOT NULL THEN
        RETURN;
    END IF;
    WITH approved AS (
        UPDATE payments pp SET state = 'approved', "authorization" = p_authorization, updated_at = p_now
        WHERE pp.id = p_payment),
    converted AS (
        UPDATE holds hh SET state = 'converted' WHERE hh.id = p_hold)
    INSERT INTO orders (id, hold_id, payment_id, session_id, state, total_minor, currency, created_at)
    VALUES (p_order, p_hold, p_payment, h.session_id, 'paid', h.total_minor, h.currency, p_now);
    IF p.seats > 0 THEN
        UPDATE seats st SET state = 'sold'
        WHERE st.id IN (SELECT l.seat_id FROM hold_lines l WHERE l.hold_id = p_hold)
          AND st.hold_id = p_hold AND st.state = 'held';
        GET DIAGNOSTICS v_sold = ROW_COUNT;
        IF v_sold <> p.seats THEN
            RAISE EXCEPTION 'hold % had % seats, % were held', p_hold, p.seats, v_sold;
        END IF;
    END IF;
    WITH issued AS (
        INSERT INTO tickets (id, order_id, session_id, grade_id, seat_id, reference, version, status,
                             max_entries, price_minor, credential, inspection_code, created_at)
        SELECT t.id, p_order, h.session_id, t.grade_id, t.seat_id, t.reference, t.version, 'valid',
               t.max_entries, t.price_minor, t.credential, t.inspection_code, p_now
        FROM UNNEST(p_ids, p_grades, p_seats, p_references, p_versions, p_max_entries, p_prices, p_credentials,
                    p_inspection_codes)
             AS t (id, grade_id, seat_id, reference, version, max_entries, price_minor, credential, inspection_code))
    INSERT INTO login_links (token_hash, order_id, created_at, expires_at)
    SELECT p_link_hash, p_order, p_now, p_link_expires WHERE p_link_hash IS NOT NULL;
    -- Counters last, grades ascending: a sale counts `sold` on a shard nobody is writing if
    -- there is one (else on the first in rotation, waiting for it); `taken` is unchanged.
    FOR k IN 1 .. COALESCE(cardinality(p.grades), 0) LOOP
        UPDATE inventory_shards s SET sold = s.sold + p.per_grade[k]
        WHERE s.session_id = h.session_id AND s.grade_id = p.grades[k] AND s.shard = (
            SELECT i.shard FROM inventory_shards i WHERE i.session_id = h.session_id AND i.grade_id = p.grades[k]
            ORDER BY i.shard < p_start, i.shard LIMIT 1 FOR UPDATE SKIP LOCKED);
        IF NOT FOUND THEN
            UPDATE inventory_shards s SET sold = s.sold + p.per_grade[k]
            WHERE s.session_id = h.session_id AND s.grade_id = p.grades[k] AND s.shard = (
                SELECT i.shard FROM inventory_shards i WHERE i.session_id = h.session_id AND i.grade_id = p.grades[k]
                ORDER BY i.shard < p_start, i.shard LIMIT 1);
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no inventory shard for session %, grade %', h.session_id, p.grades[k];
            END IF;
        END IF;
    END LOOP;
    o_order := p_order;
END $$;
