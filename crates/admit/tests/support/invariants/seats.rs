//! Invariant 1 (DESIGN.md §4): no seat both sold and free, none sold twice, no hold holding
//! what it should not, and the inventory counters agree with the seats, the tickets and the
//! active holds. The SQL is the same on SQLite and PostgreSQL.

use crate::support::db::Db;

/// Each check lists offending pairs (as text) with what they mean.
const PAIR_CHECKS: &[(&str, &str)] = &[
    (
        "sold seat without exactly one valid ticket (seat id, valid tickets)",
        "SELECT s.id, (SELECT COUNT(*) FROM tickets t WHERE t.seat_id = s.id AND t.status = 'valid')
         FROM seats s WHERE s.state = 'sold'
           AND (SELECT COUNT(*) FROM tickets t WHERE t.seat_id = s.id AND t.status = 'valid') != 1",
    ),
    (
        "valid ticket on a seat that is not sold (ticket id, seat id)",
        "SELECT t.id, t.seat_id FROM tickets t JOIN seats s ON s.id = t.seat_id
         WHERE t.status = 'valid' AND s.state != 'sold'",
    ),
    (
        "seat in two valid tickets (seat id, tickets)",
        "SELECT seat_id, COUNT(*) FROM tickets WHERE status = 'valid' AND seat_id IS NOT NULL
         GROUP BY seat_id HAVING COUNT(*) > 1",
    ),
    (
        "held seat whose hold is not active (seat id, hold state)",
        "SELECT s.id, COALESCE(h.state, 'missing') FROM seats s LEFT JOIN holds h ON h.id = s.hold_id
         WHERE s.state = 'held' AND (h.state IS NULL OR h.state != 'active')",
    ),
    (
        "sold seat whose hold is not converted (seat id, hold state)",
        "SELECT s.id, COALESCE(h.state, 'missing') FROM seats s LEFT JOIN holds h ON h.id = s.hold_id
         WHERE s.state = 'sold' AND (h.state IS NULL OR h.state != 'converted')",
    ),
    (
        "active hold whose seat it does not hold (hold id, seat id)",
        "SELECT l.hold_id, l.seat_id FROM hold_lines l JOIN holds h ON h.id = l.hold_id
         JOIN seats s ON s.id = l.seat_id
         WHERE h.state = 'active' AND (s.state != 'held' OR s.hold_id IS DISTINCT FROM h.id)",
    ),
    (
        "ticket for a seat its order's hold never had (ticket id, seat id)",
        "SELECT t.id, t.seat_id FROM tickets t JOIN orders o ON o.id = t.order_id
         WHERE t.seat_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM hold_lines l WHERE l.hold_id = o.hold_id AND l.seat_id = t.seat_id)",
    ),
    (
        "converted hold without an order (hold id, state)",
        "SELECT h.id, h.state FROM holds h
         WHERE h.state = 'converted' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.hold_id = h.id)",
    ),
];

/// One (session, grade) inventory row next to what the seats, tickets and holds say.
#[derive(sqlx::FromRow)]
struct InventoryRow {
    session_id: i64,
    grade_id: i64,
    total: i64,
    held: i64,
    sold: i64,
    /// Valid tickets of this session and grade.
    real_sold: i64,
    /// Units in the lines of active holds.
    real_held: i64,
    /// Seats of this grade (0 for general admission).
    seats: i64,
    seats_held: i64,
    seats_sold: i64,
}

const INVENTORY: &str = "SELECT i.session_id, i.grade_id, i.total, i.held, i.sold,
   (SELECT COUNT(*) FROM tickets t
     WHERE t.session_id = i.session_id AND t.grade_id = i.grade_id AND t.status = 'valid') AS real_sold,
   (SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM hold_lines l JOIN holds h ON h.id = l.hold_id
     WHERE h.state = 'active' AND h.session_id = i.session_id AND l.grade_id = i.grade_id) AS real_held,
   (SELECT COUNT(*) FROM seats s
     WHERE s.session_id = i.session_id AND s.grade_id = i.grade_id) AS seats,
   (SELECT COUNT(*) FROM seats s
     WHERE s.session_id = i.session_id AND s.grade_id = i.grade_id AND s.state = 'held') AS seats_held,
   (SELECT COUNT(*) FROM seats s
     WHERE s.session_id = i.session_id AND s.grade_id = i.grade_id AND s.state = 'sold') AS seats_sold
 FROM inventory i ORDER BY i.session_id, i.grade_id";

pub(super) async fn check(db: &mut Db, bad: &mut Vec<String>) {
    for (what, sql) in PAIR_CHECKS {
        let pairs: Vec<(String, String)> =
            db.all(&format!("WITH x(a, b) AS ({sql}) SELECT CAST(a AS TEXT), CAST(b AS TEXT) FROM x"), &[]).await;
        for (a, b) in pairs.iter().take(20) {
            bad.push(format!("{what}: ({a}, {b})"));
        }
    }
    let inventory: Vec<InventoryRow> = db.all(INVENTORY, &[]).await;
    assert!(!inventory.is_empty(), "the demo has inventory rows");
    for row in inventory {
        let InventoryRow {
            session_id,
            grade_id,
            total,
            held,
            sold,
            real_sold,
            real_held,
            seats,
            seats_held,
            seats_sold,
        } = row;
        let at = format!("inventory (session {session_id}, grade {grade_id})");
        if sold != real_sold {
            bad.push(format!("{at}: sold = {sold} but there are {real_sold} valid tickets"));
        }
        if held != real_held {
            bad.push(format!("{at}: held = {held} but active holds hold {real_held}"));
        }
        if held < 0 || sold < 0 || held + sold > total {
            bad.push(format!("{at}: held {held} + sold {sold} exceeds total {total}"));
        }
        if seats > 0 && (seats != total || seats_held != held || seats_sold != sold) {
            bad.push(format!(
                "{at}: counters (total {total}, held {held}, sold {sold}) disagree with the seats \
                 ({seats} seats, {seats_held} held, {seats_sold} sold)"
            ));
        }
    }
}
