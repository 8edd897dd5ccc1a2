//! Holds: claiming seats or units all-or-nothing, loading, cancelling and expiring them, with
//! several nodes writing at once.
//!
//! Locking: seats are claimed with guarded updates (`state = 'free'`) and no grade-wide row
//! lock; best-available pickers of a grade take turns on an advisory lock (taken first, by
//! them only), and a pick that still loses a seat to an explicit-seat buyer gives back what it
//! got and picks again from a fresh read. Counters come after the seats, from the grade's shard rows
//! (`shards.rs`), grades in ascending id order. Paths that start from a hold lock the hold row
//! first (`FOR UPDATE`), then seats, then shards: one global order, so no lock cycles.
//!
//! Inserting the hold, its lines and taking the counters is one call of `admit_insert_hold`
//! (migration 0009); a general-admission hold, with its session and grade checks, is one
//! statement in all (`admit_hold_units`), and loading a hold one query.

use super::retry::{contended, statement, transaction};
use super::shards;
use crate::decode;
use crate::model::*;
use crate::rows::{Columns, i64_at, parsed, str_at};
use crate::rules::{check_quantity, check_seat_list, grade_price};
use crate::{StoreError, StoreResult};
use admit_domain::{GradeId, HoldState, Money, SeatId, SeatingMode, SessionId, best_available};
use sqlx::{Connection, PgConnection, Row};
use std::collections::{HashMap, HashSet};

/// A claimed line: grade, optional seat, quantity, unit price.
pub(super) type Line = (GradeId, Option<SeatId>, u32, i64);

/// Creates the hold and returns it. General admission (the on-sale's hot path) is one
/// statement, `admit_hold_units` (migration 0009), without BEGIN/COMMIT, which also returns
/// what the hold is made of; seats are claimed here (their picking is Rust's), then
/// `admit_insert_hold` inserts the hold and takes the counters, in one transaction. Both run
/// again on a transient error.
pub async fn create(conn: &mut PgConnection, h: &NewHold) -> StoreResult<Hold> {
    match &h.request {
        HoldRequest::Units { grade, quantity } => statement!(conn, |c| create_units(c, h, *grade, *quantity).await?),
        _ => {
            transaction!(conn, |c| create_seated(c, h).await?)?;
            load(conn, &h.id).await
        }
    }
}

async fn create_units(conn: &mut PgConnection, h: &NewHold, grade: GradeId, quantity: u32) -> StoreResult<Hold> {
    if let Err(e) = check_quantity(quantity) {
        // A missing session is reported before a bad quantity, as on every path.
        currency(conn, h.session_id).await?;
        return Err(e);
    }
    // Named as `decode::hold` and `grade_price` read them: the row is the hold and its line.
    let r = sqlx::query(
        "SELECT u.o_session_found AS session_found, u.o_created AS created, u.o_seating AS seating,
                u.o_price AS price_minor, u.o_event_id AS event_id, u.o_currency AS currency, $2 AS session_id,
                'active' AS state, $5 AS created_at, $6 AS expires_at, u.o_price * $4 AS total_minor,
                NULL::TEXT AS order_id, $3 AS grade_id, u.o_code AS code, u.o_max_entries AS max_entries,
                u.o_reentry AS reentry, u.o_multi_day AS multi_day, NULL::BIGINT AS seat_id,
                NULL::TEXT AS seat_label, $4 AS quantity, u.o_price AS unit_price_minor
         FROM admit_hold_units($1, $2, $3, $4, $5, $6, $7) AS u",
    )
    .bind(&h.id)
    .bind(h.session_id.0)
    .bind(grade.0)
    .bind(i64::from(quantity))
    .bind(h.now_ms)
    .bind(h.expires_at_ms)
    .bind(shards::start())
    .fetch_one(&mut *conn)
    .await
    .map_err(hold_error)?;
    if !r.try_get::<bool, _>("session_found")? {
        return Err(StoreError::NotFound("session"));
    }
    if !r.try_get::<bool, _>("created")? {
        let offered = r.opt_str_col("seating")?.is_some().then_some(&r);
        grade_price(offered, h.session_id, grade, SeatingMode::GeneralAdmission)?;
        return Err(StoreError::Other(format!("hold {} refused for no known reason", h.id).into()));
    }
    decode::hold(&h.id, &r, std::slice::from_ref(&r))
}

/// The session's currency; `NotFound` if there is no such session.
pub(super) async fn currency(conn: &mut PgConnection, session: SessionId) -> StoreResult<String> {
    sqlx::query_scalar("SELECT e.currency FROM sessions s JOIN events e ON e.id = s.event_id WHERE s.id = $1")
        .bind(session.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("session"))
}

/// Explicit seats or best-available seats: claimed here, then hold, lines and counters in
/// one statement.
async fn create_seated(conn: &mut PgConnection, h: &NewHold) -> StoreResult<()> {
    let currency = currency(conn, h.session_id).await?;
    let lines: Vec<Line> = match &h.request {
        HoldRequest::Seats(ids) => claim_seats(conn, h, ids).await?,
        HoldRequest::BestAvailable { grade, quantity, require_adjacent } => {
            check_quantity(*quantity)?;
            let price = grade_for(conn, h.session_id, *grade, SeatingMode::Reserved).await?;
            let picked = claim_best(conn, h, *grade, *quantity as usize, *require_adjacent).await?;
            picked.iter().map(|s| (*grade, Some(*s), 1, price)).collect()
        }
        HoldRequest::Units { .. } => return Err(StoreError::Invalid("units are held by create_units".into())),
    };
    insert(conn, h, &currency, &lines).await
}

/// Inserts the hold and its lines (seats already claimed) and takes the counters: one call of
/// `admit_insert_hold`.
pub(super) async fn insert(conn: &mut PgConnection, h: &NewHold, currency: &str, lines: &[Line]) -> StoreResult<()> {
    let total = lines.iter().try_fold(0i64, |sum, (_, _, q, p)| {
        p.checked_mul(i64::from(*q)).and_then(|line| sum.checked_add(line)).filter(|t| *t <= Money::MAX_MINOR)
    });
    let total =
        total.ok_or_else(|| StoreError::Invalid("the hold's total is larger than any amount Admit takes".into()))?;
    sqlx::query("SELECT admit_insert_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(&h.id)
        .bind(h.session_id.0)
        .bind(h.now_ms)
        .bind(h.expires_at_ms)
        .bind(total)
        .bind(currency)
        .bind(lines.iter().map(|l| l.0.0).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.1.map(|s| s.0)).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| i64::from(l.2)).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.3).collect::<Vec<_>>())
        .bind(shards::start())
        .execute(&mut *conn)
        .await
        .map_err(hold_error)?;
    Ok(())
}

/// The errors of inserting a hold that mean something: its id taken, or too few units left
/// (`AD409`, raised by `admit_take_units` after the hold's rows were written: all undone).
fn hold_error(e: sqlx::Error) -> StoreError {
    let Some(db) = e.as_database_error() else { return e.into() };
    if db.code().as_deref() == Some("AD409") {
        StoreError::SoldOut
    } else if db.is_unique_violation() && db.constraint() == Some("holds_pkey") {
        StoreError::Conflict("hold id already exists".into())
    } else {
        e.into()
    }
}

/// The grade's price, if it is offered in this session with this seating mode.
pub(super) async fn grade_for(
    conn: &mut PgConnection,
    session: SessionId,
    grade: GradeId,
    mode: SeatingMode,
) -> StoreResult<i64> {
    let row = sqlx::query(
        "SELECT g.seating, g.price_minor FROM grades g JOIN sessions s ON s.event_id = g.event_id
         WHERE g.id = $1 AND s.id = $2",
    )
    .bind(grade.0)
    .bind(session.0)
    .fetch_optional(&mut *conn)
    .await?;
    grade_price(row.as_ref(), session, grade, mode)
}

/// How many times a best-available pick that lost a seat picks again inside its transaction
/// before the whole transaction runs again.
const REPICKS: usize = 8;

/// Picks the grade's best free seats and marks them held by the hold. When another buyer
/// claimed one of them first (the guarded update waited for its commit, then found the seat
/// taken), the seats this attempt did get are given back and it picks again from a fresh read.
async fn claim_best(
    conn: &mut PgConnection,
    h: &NewHold,
    grade: GradeId,
    quantity: usize,
    adjacent: bool,
) -> StoreResult<Vec<SeatId>> {
    // Pickers of one grade all want the same best seats: they take turns (a transaction-scoped
    // advisory lock, taken before any row lock and by nothing else) instead of all queueing on
    // one seat row and picking again. Other writers never wait for it; the guarded update below
    // still decides against them.
    take_pickers_turn(conn, h.session_id, grade).await?;
    for _ in 0..REPICKS {
        let picked = pick_best(conn, h.session_id, grade, quantity, adjacent).await?;
        let ids: Vec<i64> = picked.iter().map(|s| s.0).collect();
        if mark_held(conn, h, &ids).await? == ids.len() as u64 {
            return Ok(picked);
        }
        sqlx::query(
            "UPDATE seats SET state = 'free', hold_id = NULL
             WHERE id = ANY($1) AND session_id = $2 AND hold_id = $3 AND state = 'held'",
        )
        .bind(&ids)
        .bind(h.session_id.0)
        .bind(&h.id)
        .execute(&mut *conn)
        .await?;
    }
    Err(contended())
}

/// What `best_available` would pick over the whole grade, reading as little of it as it can
/// (as the SQLite backend does): `best_available` tries rows best first and takes the first
/// row holding `n` adjacent free seats, and a row's window depends on that row alone; so
/// trying the rows that still have a free seat, one at a time in the same order (one query
/// each, by the `seats_free_rows` index of migration 0010), gives the same answer ([`Rows`]).
/// When no row has such a window, the rows read so far hold every free seat of the grade,
/// which is all the fallback (scattered seats) looks at. Reading the whole grade for every
/// hold made each best-available hold of a 10,000-seat grade read 10,000 rows.
async fn pick_best(
    conn: &mut PgConnection,
    session: SessionId,
    grade: GradeId,
    n: usize,
    require_adjacent: bool,
) -> StoreResult<Vec<SeatId>> {
    let mut rows = Rows::default();
    if let Some(window) = rows.pick(conn, session, grade, n).await? {
        return Ok(window);
    }
    match require_adjacent {
        true => Err(StoreError::SoldOut),
        false => Ok(best_available(&rows.read.concat(), n, false).ok_or(StoreError::SoldOut)?.seats),
    }
}

/// The grade's rows that still have a free seat, read best first as far as needed, and the
/// seats picked from them already (by earlier requests of a group, `grouped_seats.rs`).
#[derive(Default)]
pub(super) struct Rows {
    read: Vec<Vec<admit_domain::SeatPos>>,
    exhausted: bool,
    picked: HashSet<SeatId>,
}

impl Rows {
    /// The first row's window of `n` adjacent seats free and not yet picked (and counts it
    /// picked); `None` when no row has one.
    pub(super) async fn pick(
        &mut self,
        conn: &mut PgConnection,
        session: SessionId,
        grade: GradeId,
        n: usize,
    ) -> StoreResult<Option<Vec<SeatId>>> {
        let mut k = 0;
        loop {
            if k == self.read.len() {
                if self.exhausted {
                    return Ok(None);
                }
                // Ranks come from `i32`s, so no row sorts before (i64::MIN, '').
                let after = match self.read.last().and_then(|row| row.first()) {
                    Some(s) => (i64::from(s.row_rank), s.row.clone()),
                    None => (i64::MIN, String::new()),
                };
                let row = next_free_row(conn, session, grade, &after).await?;
                if row.is_empty() {
                    self.exhausted = true;
                    return Ok(None);
                }
                self.read.push(row);
            }
            let window = match self.picked.is_empty() {
                true => best_available(&self.read[k], n, true),
                false => {
                    let row: Vec<_> = self.read[k]
                        .iter()
                        .map(|s| admit_domain::SeatPos { free: s.free && !self.picked.contains(&s.id), ..s.clone() })
                        .collect();
                    best_available(&row, n, true)
                }
            };
            if let Some(window) = window {
                self.picked.extend(window.seats.iter().copied());
                return Ok(Some(window.seats));
            }
            k += 1;
        }
    }
}

/// Waits for this transaction's turn among the best-available pickers of the grade (a
/// transaction-scoped advisory lock, taken before any row lock and by nothing else).
pub(super) async fn take_pickers_turn(conn: &mut PgConnection, session: SessionId, grade: GradeId) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('admit best-available ' || $1 || '/' || $2, 0))")
        .bind(session.0)
        .bind(grade.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every seat of the best row (rank, then label in byte order) after `after` that still has
/// a free seat; empty when there is none.
pub(super) async fn next_free_row(
    conn: &mut PgConnection,
    session: SessionId,
    grade: GradeId,
    after: &(i64, String),
) -> StoreResult<Vec<admit_domain::SeatPos>> {
    sqlx::query(
        "SELECT s.id, s.row_rank, s.row_label, s.number, s.state FROM seats s
         WHERE s.session_id = $1 AND s.grade_id = $2 AND (s.row_rank, s.row_label COLLATE \"C\") = (
             SELECT f.row_rank, f.row_label COLLATE \"C\" FROM seats f
             WHERE f.session_id = $1 AND f.grade_id = $2 AND f.state = 'free'
               AND (f.row_rank, f.row_label COLLATE \"C\") > ($3, $4 COLLATE \"C\")
             ORDER BY f.row_rank, f.row_label COLLATE \"C\" LIMIT 1)",
    )
    .bind(session.0)
    .bind(grade.0)
    .bind(after.0)
    .bind(&after.1)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(decode::seat_pos)
    .collect()
}

/// Marks those of the seats that are still free held by the hold; how many it marked.
async fn mark_held(conn: &mut PgConnection, h: &NewHold, ids: &[i64]) -> StoreResult<u64> {
    let held = sqlx::query(
        "UPDATE seats SET state = 'held', hold_id = $1 WHERE id = ANY($2) AND session_id = $3 AND state = 'free'",
    )
    .bind(&h.id)
    .bind(ids)
    .bind(h.session_id.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(held)
}

/// Holds exactly the listed seats: `Invalid` for a seat outside the session, `SoldOut` for a
/// taken one (whichever the list names first), else every seat or none.
async fn claim_seats(conn: &mut PgConnection, h: &NewHold, ids: &[SeatId]) -> StoreResult<Vec<Line>> {
    check_seat_list(ids)?;
    let raw: Vec<i64> = ids.iter().map(|s| s.0).collect();
    let found: HashMap<i64, (i64, String, i64)> = sqlx::query(
        "SELECT s.id, s.grade_id, s.state, g.price_minor FROM seats s JOIN grades g ON g.id = s.grade_id
         WHERE s.id = ANY($1) AND s.session_id = $2",
    )
    .bind(&raw)
    .bind(h.session_id.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((i64_at(r, "id")?, (i64_at(r, "grade_id")?, str_at(r, "state")?, i64_at(r, "price_minor")?))))
    .collect::<StoreResult<_>>()?;
    let mut lines = Vec::with_capacity(ids.len());
    for seat in ids {
        match found.get(&seat.0) {
            None => return Err(StoreError::Invalid(format!("seat {seat} is not part of session {}", h.session_id))),
            Some((_, state, _)) if state != "free" => return Err(StoreError::SoldOut),
            Some((grade, _, price)) => lines.push((GradeId(*grade), Some(*seat), 1, *price)),
        }
    }
    if mark_held(conn, h, &raw).await? != ids.len() as u64 {
        // Taken by another buyer after the read above: an explicit seat is sold out.
        return Err(StoreError::SoldOut);
    }
    Ok(lines)
}

/// The hold, its session's event, its order's id and its lines, in one query (a hold row
/// joined with each of its lines).
pub async fn load(conn: &mut PgConnection, id: &str) -> StoreResult<Hold> {
    let rows = sqlx::query(
        "SELECT h.*, s.event_id, o.id AS order_id, l.grade_id, g.code, g.max_entries, g.reentry, g.multi_day,
                l.seat_id, st.label AS seat_label, l.quantity, l.unit_price_minor
         FROM holds h JOIN sessions s ON s.id = h.session_id LEFT JOIN orders o ON o.hold_id = h.id
         LEFT JOIN hold_lines l ON l.hold_id = h.id LEFT JOIN grades g ON g.id = l.grade_id
         LEFT JOIN seats st ON st.id = l.seat_id
         WHERE h.id = $1 ORDER BY l.line",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let first = rows.first().ok_or(StoreError::NotFound("hold"))?;
    // A hold without lines comes back as one row whose line columns are all NULL.
    let lines = if first.opt_i64_col("grade_id")?.is_some() { &rows[..] } else { &rows[..0] };
    decode::hold(id, first, lines)
}

/// Holds by id, as [`load`] reads one, in one query (ids not found are left out). Each hold
/// and its lines are looked up by index, one hold at a time (`LATERAL … OFFSET 0`), never
/// by a join of whole tables.
pub async fn load_many(conn: &mut PgConnection, ids: &[String]) -> StoreResult<HashMap<String, Hold>> {
    let rows = sqlx::query(
        "SELECT h.*, l.grade_id, l.code, l.max_entries, l.reentry, l.multi_day, l.seat_id, l.seat_label, l.quantity,
                l.unit_price_minor
         FROM UNNEST($1::TEXT[]) AS wanted (id)
         CROSS JOIN LATERAL (
             SELECT h.*, s.event_id, o.id AS order_id
             FROM holds h JOIN sessions s ON s.id = h.session_id LEFT JOIN orders o ON o.hold_id = h.id
             WHERE h.id = wanted.id
             OFFSET 0) AS h
         LEFT JOIN LATERAL (
             SELECT l.line, l.grade_id, g.code, g.max_entries, g.reentry, g.multi_day, l.seat_id, st.label AS seat_label,
                    l.quantity, l.unit_price_minor
             FROM hold_lines l JOIN grades g ON g.id = l.grade_id LEFT JOIN seats st ON st.id = l.seat_id
             WHERE l.hold_id = h.id
             OFFSET 0) AS l ON true
         ORDER BY h.id, l.line",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut holds = HashMap::with_capacity(ids.len());
    for same in rows.chunk_by(|a, b| a.try_get::<&str, _>("id").ok() == b.try_get::<&str, _>("id").ok()) {
        let first = &same[0];
        let lines = if first.opt_i64_col("grade_id")?.is_some() { same } else { &same[..0] };
        let id = str_at(first, "id")?;
        let hold = decode::hold(&id, first, lines)?;
        holds.insert(id, hold);
    }
    Ok(holds)
}

/// Returns the seats and units of active holds (already locked by the caller) to sale and
/// marks each hold with its end state. Seats first, then the shards the holds took.
async fn release(conn: &mut PgConnection, holds: &[(String, HoldState)]) -> StoreResult<()> {
    let ids: Vec<&str> = holds.iter().map(|(id, _)| id.as_str()).collect();
    sqlx::query(
        "UPDATE seats SET state = 'free', hold_id = NULL
         WHERE id IN (SELECT seat_id FROM hold_lines WHERE hold_id = ANY($1)) AND hold_id = ANY($1) AND state = 'held'",
    )
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    shards::release(conn, &ids).await?;
    let states: Vec<&str> = holds.iter().map(|(_, to)| to.as_str()).collect();
    sqlx::query(
        "UPDATE holds SET state = t.state FROM UNNEST($1::TEXT[], $2::TEXT[]) AS t (id, state)
         WHERE holds.id = t.id AND holds.state = 'active'",
    )
    .bind(&ids)
    .bind(&states)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn cancel(conn: &mut PgConnection, id: &str, now_ms: i64) -> StoreResult<()> {
    let r = sqlx::query("SELECT state, expires_at FROM holds WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(&r, "state", HoldState::parse)?;
    match state {
        HoldState::Active => {
            let to = match state.effective(i64_at(&r, "expires_at")?, now_ms) {
                HoldState::Expired => HoldState::Expired,
                _ => HoldState::Released,
            };
            release(conn, &[(id.to_owned(), to)]).await
        }
        HoldState::Converted => Err(StoreError::HoldNotActive(HoldState::Converted)),
        HoldState::Released | HoldState::Expired => Ok(()),
    }
}

/// Expires due holds in batches; a hold another node is paying or cancelling right now is
/// skipped (`SKIP LOCKED`): that node decides it, or the next sweep does.
pub async fn expire_due(conn: &mut PgConnection, now_ms: i64) -> StoreResult<u64> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM holds WHERE state = 'active' AND expires_at <= $1 ORDER BY id LIMIT 2000
         FOR UPDATE SKIP LOCKED",
    )
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let holds: Vec<_> = due.into_iter().map(|id| (id, HoldState::Expired)).collect();
    release(conn, &holds).await?;
    Ok(holds.len() as u64)
}
