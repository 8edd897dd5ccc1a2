-- Group commit for the on-sale's hot paths (issue 3): under load, the server collects the
-- general-admission holds and the order completions that arrive together and sends each
-- group as one call of these functions (postgres/group_commit.rs). One call does the
-- writes of the whole group as a handful of set-based statements and commits once, where
-- one call per hold or order ran a dozen statements and a commit each.
--
-- A group is at most a few hundred rows, looked up by key in tables of millions. The
-- functions find them by index, with nested loops over the group's rows: never a sequential
-- scan, hash or merge join that reads a whole table. (Left to itself, the planner does read
-- them whole while they are young, e.g. at the first on-sale after a deploy: each row then
-- meets `id = ANY(...)`, a comparison per element of the group, and a group of 128 cost
-- tens of milliseconds by the end of a 10,000-order sale; and PL/pgSQL keeps such a plan.)
--
-- Lock order, as everywhere: holds (ascending id) -> payments (ascending id) -> seats ->
-- inventory shards (grades ascending, then sessions). Nothing here raises for one item's
-- sake: an item these functions cannot decide on their own terms comes back as 'refused'
-- with nothing written for it, and the caller runs it alone through the one-item path
-- (migration 0009), which says exactly why. Anything that does raise (a taken id, seats that
-- do not add up) undoes the whole group, and the caller runs every item alone.

-- General-admission holds, all items in one transaction. For each (grade, session) the group
-- locks shards nobody else is writing (SKIP LOCKED, in rotation from `p_start`), one at a
-- time, until they have room for all the group's units of that grade or there are no more;
-- so a concurrent group, and the sales counting `sold`, find other shards free. The units
-- are then dealt out in memory: one shard with room for all of an item's units (in rotation
-- from the item's number), else spread over the locked shards in the order they were locked. An item the
-- locked shards cannot serve is 'refused': alone, it takes the one-item path, which waits
-- for locked shards and tells sold out from busy exactly. `o_status` is 'created' or
-- 'refused' (also for no such session, or a grade that is not a general-admission grade of
-- its event).
CREATE FUNCTION admit_hold_units_group(
    p_ids TEXT[], p_sessions BIGINT[], p_grades BIGINT[], p_quantities BIGINT[], p_now BIGINT[], p_expires BIGINT[],
    p_start INTEGER)
RETURNS TABLE (o_item BIGINT, o_status TEXT, o_event_id BIGINT, o_currency TEXT, o_price BIGINT, o_code TEXT,
               o_max_entries BIGINT, o_reentry BOOLEAN, o_multi_day BOOLEAN)
LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    r RECORD;
    v_session BIGINT;
    v_grade BIGINT;
    v_shards INTEGER[];
    v_free BIGINT[];
    v_all_free BIGINT := 0;
    v_n INTEGER := 0;
    v_pick INTEGER;
    v_at INTEGER;
    v_left BIGINT;
    v_q BIGINT;
    v_shard INTEGER;
    v_room BIGINT;
    v_locking REFCURSOR;
    -- Units taken, one entry per (hold, shard).
    a_hold TEXT[] := '{}';
    a_session BIGINT[] := '{}';
    a_grade BIGINT[] := '{}';
    a_shard INTEGER[] := '{}';
    a_qty BIGINT[] := '{}';
    -- Holds made, one entry each.
    c_id TEXT[] := '{}';
    c_session BIGINT[] := '{}';
    c_grade BIGINT[] := '{}';
    c_qty BIGINT[] := '{}';
    c_price BIGINT[] := '{}';
    c_currency TEXT[] := '{}';
    c_now BIGINT[] := '{}';
    c_expires BIGINT[] := '{}';
BEGIN
    FOR r IN
        SELECT u.item, u.id, u.session_id, u.grade_id, u.quantity, u.now_ms, u.expires_ms,
               s.event_id, e.currency, g.seating, g.price_minor, g.code, g.max_entries, g.reentry, g.multi_day,
               SUM(u.quantity) OVER (PARTITION BY u.grade_id, u.session_id) AS demand
        FROM UNNEST(p_ids, p_sessions, p_grades, p_quantities, p_now, p_expires) WITH ORDINALITY
             AS u (id, session_id, grade_id, quantity, now_ms, expires_ms, item)
        LEFT JOIN sessions s ON s.id = u.session_id
        LEFT JOIN events e ON e.id = s.event_id
        LEFT JOIN grades g ON g.id = u.grade_id AND g.event_id = s.event_id
        ORDER BY u.grade_id, u.session_id, u.item
    LOOP
        o_item := r.item;
        o_event_id := r.event_id;
        o_currency := r.currency;
        o_price := r.price_minor;
        o_code := r.code;
        o_max_entries := r.max_entries;
        o_reentry := r.reentry;
        o_multi_day := r.multi_day;
        IF r.seating IS DISTINCT FROM 'general_admission' THEN
            o_status := 'refused';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF v_grade IS DISTINCT FROM r.grade_id OR v_session IS DISTINCT FROM r.session_id THEN
            v_grade := r.grade_id;
            v_session := r.session_id;
            v_shards := '{}';
            v_free := '{}';
            v_n := 0;
            v_all_free := 0;
            OPEN v_locking FOR
                SELECT i.shard, i.total - i.taken FROM inventory_shards i
                WHERE i.session_id = r.session_id AND i.grade_id = r.grade_id AND i.total > i.taken
                ORDER BY i.shard < p_start, i.shard FOR UPDATE SKIP LOCKED;
            LOOP
                FETCH v_locking INTO v_shard, v_room;
                EXIT WHEN NOT FOUND;
                v_shards := v_shards || v_shard;
                v_free := v_free || v_room;
                v_n := v_n + 1;
                v_all_free := v_all_free + v_room;
                EXIT WHEN v_all_free >= r.demand;
            END LOOP;
            CLOSE v_locking;
        END IF;
        IF v_all_free < r.quantity THEN
            o_status := 'refused';
            RETURN NEXT;
            CONTINUE;
        END IF;
        v_pick := NULL;
        FOR k IN 0 .. v_n - 1 LOOP
            v_at := CAST((r.item + k) % v_n AS INTEGER) + 1;
            IF v_free[v_at] >= r.quantity THEN
                v_pick := v_at;
                EXIT;
            END IF;
        END LOOP;
        v_left := r.quantity;
        FOR k IN 1 .. v_n LOOP
            EXIT WHEN v_left = 0;
            CONTINUE WHEN v_pick IS NOT NULL AND k <> v_pick;
            CONTINUE WHEN v_free[k] = 0;
            v_q := LEAST(v_free[k], v_left);
            v_free[k] := v_free[k] - v_q;
            v_left := v_left - v_q;
            a_hold := a_hold || r.id;
            a_session := a_session || r.session_id;
            a_grade := a_grade || r.grade_id;
            a_shard := a_shard || v_shards[k];
            a_qty := a_qty || v_q;
        END LOOP;
        v_all_free := v_all_free - r.quantity;
        c_id := c_id || r.id;
        c_session := c_session || r.session_id;
        c_grade := c_grade || r.grade_id;
        c_qty := c_qty || r.quantity;
        c_price := c_price || r.price_minor;
        c_currency := c_currency || r.currency;
        c_now := c_now || r.now_ms;
        c_expires := c_expires || r.expires_ms;
        o_status := 'created';
        RETURN NEXT;
    END LOOP;
    IF cardinality(c_id) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO holds (id, session_id, state, created_at, expires_at, total_minor, currency)
    SELECT c.id, c.session_id, 'active', c.now_ms, c.expires_ms, c.price * c.quantity, c.currency
    FROM UNNEST(c_id, c_session, c_now, c_expires, c_price, c_qty, c_currency)
         AS c (id, session_id, now_ms, expires_ms, price, quantity, currency);
    INSERT INTO hold_lines (hold_id, line, grade_id, seat_id, quantity, unit_price_minor)
    SELECT c.id, 0, c.grade_id, NULL, c.quantity, c.price
    FROM UNNEST(c_id, c_grade, c_qty, c_price) AS c (id, grade_id, quantity, price);
    UPDATE inventory_shards s SET taken = s.taken + d.quantity
    FROM (SELECT a.session_id, a.grade_id, a.shard, SUM(a.quantity) AS quantity
          FROM UNNEST(a_session, a_grade, a_shard, a_qty) AS a (session_id, grade_id, shard, quantity)
          GROUP BY a.session_id, a.grade_id, a.shard) AS d
    WHERE s.session_id = d.session_id AND s.grade_id = d.grade_id AND s.shard = d.shard;
    INSERT INTO hold_shards (hold_id, grade_id, shard, quantity)
    SELECT a.hold_id, a.grade_id, a.shard, a.quantity
    FROM UNNEST(a_hold, a_grade, a_shard, a_qty) AS a (hold_id, grade_id, shard, quantity);
END $$;

-- Pending payments, one per item whose hold is active with the same amount: the holds locked
-- in id order, then the payments inserted (a second one for a hold conflicts and is skipped).
-- `o_created` says whether the item's payment was recorded.
CREATE FUNCTION admit_begin_payments(
    p_ids TEXT[], p_holds TEXT[], p_gateways TEXT[], p_amounts BIGINT[], p_currencies TEXT[], p_methods TEXT[],
    p_now BIGINT[])
RETURNS TABLE (o_item BIGINT, o_created BOOLEAN)
LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    PERFORM 1 FROM holds hh WHERE hh.id = ANY(p_holds) ORDER BY hh.id FOR UPDATE;
    RETURN QUERY
    WITH p AS (
        INSERT INTO payments (id, hold_id, gateway, amount_minor, currency, method, state, created_at, updated_at)
        SELECT r.id, r.hold_id, r.gateway, r.amount, r.currency, r.method, 'pending', r.now_ms, r.now_ms
        FROM UNNEST(p_ids, p_holds, p_gateways, p_amounts, p_currencies, p_methods, p_now)
             AS r (id, hold_id, gateway, amount, currency, method, now_ms)
        JOIN holds hh ON hh.id = r.hold_id
        WHERE hh.state = 'active' AND r.now_ms < hh.expires_at AND hh.total_minor = r.amount AND hh.currency = r.currency
        ON CONFLICT DO NOTHING
        RETURNING payments.id)
    SELECT r.item, r.id IN (SELECT p.id FROM p)
    FROM UNNEST(p_ids) WITH ORDINALITY AS r (id, item)
    ORDER BY r.item;
END $$;

-- Order completions, all items in one transaction: the checks of admit_complete_order for
-- every item in one query, then each write once for all accepted items. Item i's tickets are
-- p_t_*[p_t_first[i] .. p_t_first[i] + p_t_count[i] - 1]. `o_order` is the new order, or
-- the one the payment already made (its login link, if given, is then stored for it);
-- `o_refusal` is 'refused' when one of the one-item path's refusals applies.
CREATE FUNCTION admit_complete_orders(
    p_orders TEXT[], p_holds TEXT[], p_payments TEXT[], p_authorizations TEXT[], p_now BIGINT[],
    p_link_hashes BYTEA[], p_link_expires BIGINT[], p_t_first INTEGER[], p_t_count INTEGER[], p_start INTEGER,
    p_t_ids BIGINT[], p_t_grades BIGINT[], p_t_seats BIGINT[], p_t_references TEXT[], p_t_versions BIGINT[],
    p_t_max_entries BIGINT[], p_t_prices BIGINT[], p_t_credentials TEXT[], p_t_inspection_codes TEXT[])
RETURNS TABLE (o_item BIGINT, o_order TEXT, o_refusal TEXT)
LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    r RECORD;
    g RECORD;
    v_seats BIGINT := 0;
    v_sold BIGINT;
    v_seat_ids BIGINT[];
    v_seat_holds TEXT[];
    -- Accepted items.
    a_item INTEGER[] := '{}';
    a_hold TEXT[] := '{}';
    a_session BIGINT[] := '{}';
    -- Items whose payment already made an order, and that order.
    e_item INTEGER[] := '{}';
    e_order TEXT[] := '{}';
BEGIN
    PERFORM 1 FROM holds hh WHERE hh.id = ANY(p_holds) ORDER BY hh.id FOR UPDATE;
    PERFORM 1 FROM payments pp WHERE pp.id = ANY(p_payments) ORDER BY pp.id FOR UPDATE;
    FOR r IN
        SELECT CAST(i.item AS INTEGER) AS item, i.order_id, i.hold_id, i.now_ms, hh.session_id, hh.state AS hold_state, hh.expires_at,
               (SELECT o.id FROM orders o WHERE o.payment_id = i.payment_id) AS existing,
               pp.hold_id AS payment_hold, pp.state AS payment_state, lines.units, lines.seats,
               NOT EXISTS (
                   SELECT l.grade_id, l.seat_id FROM hold_lines l CROSS JOIN generate_series(1, l.quantity)
                   WHERE l.hold_id = i.hold_id
                   EXCEPT ALL
                   SELECT t.grade_id, t.seat_id
                   FROM UNNEST(p_t_grades[i.first : i.first + i.count - 1], p_t_seats[i.first : i.first + i.count - 1])
                        AS t (grade_id, seat_id)) AS tickets_match,
               i.count
        FROM UNNEST(p_orders, p_holds, p_payments, p_now, p_t_first, p_t_count) WITH ORDINALITY
             AS i (order_id, hold_id, payment_id, now_ms, first, count, item)
        LEFT JOIN holds hh ON hh.id = i.hold_id
        LEFT JOIN payments pp ON pp.id = i.payment_id
        CROSS JOIN LATERAL (
            SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) AS units,
                   CAST(COALESCE(SUM(l.quantity) FILTER (WHERE l.seat_id IS NOT NULL), 0) AS BIGINT) AS seats
            FROM hold_lines l WHERE l.hold_id = i.hold_id) AS lines
        ORDER BY i.item
    LOOP
        o_item := r.item;
        o_order := NULL;
        o_refusal := NULL;
        IF r.existing IS NOT NULL THEN
            o_order := r.existing;
            e_item := e_item || r.item;
            e_order := e_order || r.existing;
        ELSIF r.payment_hold IS DISTINCT FROM r.hold_id OR r.payment_state <> 'pending'
              OR r.hold_state IS DISTINCT FROM 'active' OR r.now_ms >= r.expires_at
              OR r.units <> r.count OR NOT r.tickets_match THEN
            o_refusal := 'refused';
        ELSE
            o_order := r.order_id;
            a_item := a_item || r.item;
            a_hold := a_hold || r.hold_id;
            a_session := a_session || r.session_id;
            v_seats := v_seats + r.seats;
        END IF;
        RETURN NEXT;
    END LOOP;
    INSERT INTO login_links (token_hash, order_id, created_at, expires_at)
    SELECT p_link_hashes[e.item], e.order_id, p_now[e.item], p_link_expires[e.item]
    FROM UNNEST(e_item, e_order) AS e (item, order_id) WHERE p_link_hashes[e.item] IS NOT NULL;
    IF cardinality(a_item) = 0 THEN
        RETURN;
    END IF;
    UPDATE payments pp SET state = 'approved', "authorization" = p_authorizations[a.item], updated_at = p_now[a.item]
    FROM UNNEST(a_item) AS a (item) WHERE pp.id = p_payments[a.item];
    UPDATE holds hh SET state = 'converted' WHERE hh.id = ANY(a_hold);
    INSERT INTO orders (id, hold_id, payment_id, session_id, state, total_minor, currency, created_at)
    SELECT p_orders[a.item], hh.id, p_payments[a.item], hh.session_id, 'paid', hh.total_minor, hh.currency, p_now[a.item]
    FROM UNNEST(a_item, a_hold) AS a (item, hold_id) JOIN holds hh ON hh.id = a.hold_id;
    IF v_seats > 0 THEN
        -- The lines' seats first, then each seat by its key (a join would let the planner walk
        -- every seat of the table and look for its line).
        SELECT array_agg(l.seat_id), array_agg(l.hold_id) INTO v_seat_ids, v_seat_holds
        FROM hold_lines l WHERE l.hold_id = ANY(a_hold) AND l.seat_id IS NOT NULL;
        UPDATE seats st SET state = 'sold'
        FROM UNNEST(v_seat_ids, v_seat_holds) AS x (seat_id, hold_id)
        WHERE st.id = x.seat_id AND st.hold_id = x.hold_id AND st.state = 'held';
        GET DIAGNOSTICS v_sold = ROW_COUNT;
        IF v_sold <> v_seats THEN
            RAISE EXCEPTION 'the holds had % seats, % were held', v_seats, v_sold;
        END IF;
    END IF;
    INSERT INTO tickets (id, order_id, session_id, grade_id, seat_id, reference, version, status,
                         max_entries, price_minor, credential, inspection_code, created_at)
    SELECT p_t_ids[k], p_orders[a.item], a.session_id, p_t_grades[k], p_t_seats[k], p_t_references[k],
           p_t_versions[k], 'valid', p_t_max_entries[k], p_t_prices[k], p_t_credentials[k],
           p_t_inspection_codes[k], p_now[a.item]
    FROM UNNEST(a_item, a_session) AS a (item, session_id)
    CROSS JOIN LATERAL generate_series(p_t_first[a.item], p_t_first[a.item] + p_t_count[a.item] - 1) AS k;
    INSERT INTO login_links (token_hash, order_id, created_at, expires_at)
    SELECT p_link_hashes[a.item], p_orders[a.item], p_now[a.item], p_link_expires[a.item]
    FROM UNNEST(a_item) AS a (item) WHERE p_link_hashes[a.item] IS NOT NULL;
    -- Counters last, (grade, session) ascending: `sold` on a shard nobody is writing if there
    -- is one, else on the first in rotation, waiting for it.
    FOR g IN
        SELECT a.session_id, l.grade_id, CAST(SUM(l.quantity) AS BIGINT) AS n
        FROM UNNEST(a_hold, a_session) AS a (hold_id, session_id) JOIN hold_lines l ON l.hold_id = a.hold_id
        GROUP BY a.session_id, l.grade_id ORDER BY l.grade_id, a.session_id
    LOOP
        UPDATE inventory_shards s SET sold = s.sold + g.n
        WHERE s.session_id = g.session_id AND s.grade_id = g.grade_id AND s.shard = (
            SELECT i.shard FROM inventory_shards i WHERE i.session_id = g.session_id AND i.grade_id = g.grade_id
            ORDER BY i.shard < p_start, i.shard LIMIT 1 FOR UPDATE SKIP LOCKED);
        IF NOT FOUND THEN
            UPDATE inventory_shards s SET sold = s.sold + g.n
            WHERE s.session_id = g.session_id AND s.grade_id = g.grade_id AND s.shard = (
                SELECT i.shard FROM inventory_shards i WHERE i.session_id = g.session_id AND i.grade_id = g.grade_id
                ORDER BY i.shard < p_start, i.shard LIMIT 1);
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no inventory shard for session %, grade %', g.session_id, g.grade_id;
            END IF;
        END IF;
    END LOOP;
END $$;

-- Best-available picking reads the grade one row at a time, best row first, and only rows
-- that still have a free seat (postgres/holds.rs `pick_best`): the next such row, then the
-- seats of that row. Row labels in byte order, as the picker sorts them.
CREATE INDEX seats_free_rows ON seats (session_id, grade_id, row_rank, row_label COLLATE "C") WHERE state = 'free';
CREATE INDEX seats_by_row ON seats (session_id, grade_id, row_rank, row_label COLLATE "C");
