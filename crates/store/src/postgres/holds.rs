//! Holds: claiming seats or units all-or-nothing, loading, cancelling and expiring them, with
//! several nodes writing at once.
//!
//! Locking: seats are claimed with guarded updates (`state = 'free'`) and no grade-wide row
//! lock; best-available pickers of a grade take turns on an advisory lock (taken first, by
//! them only), and a pick that still loses a seat to an explicit-seat buyer gives back what it
//! got and picks again from a fresh read. Counters come after the seats, from the grade's shard rows
//! (`shards.rs`), grades in ascending id order. Paths that start from a hold lock the hold row
//! first (`FOR UPDATE`), then seats, then shards: one global order, so no lock cycles.

use super::retry::contended;
use super::shards::{self, Claim};
use crate::decode::{self, HOLD_LINES};
use crate::model::*;
use crate::rows::{i64_at, is_unique_violation, parsed, str_at};
use crate::rules::{check_quantity, check_seat_list, grade_price};
use crate::{StoreError, StoreResult};
use admit_domain::{GradeId, HoldState, SeatId, SeatingMode, SessionId, best_available};
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap};

/// A claimed line: grade, optional seat, quantity, unit price.
type Line = (GradeId, Option<SeatId>, u32, i64);

pub async fn create(conn: &mut PgConnection, h: &NewHold) -> StoreResult<()> {
    let currency: String =
        sqlx::query_scalar("SELECT e.currency FROM sessions s JOIN events e ON e.id = s.event_id WHERE s.id = $1")
            .bind(h.session_id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("session"))?;
    let lines = match &h.request {
        HoldRequest::Seats(ids) => claim_seats(conn, h, ids).await?,
        HoldRequest::BestAvailable { grade, quantity, require_adjacent } => {
            check_quantity(*quantity)?;
            let price = grade_for(conn, h.session_id, *grade, SeatingMode::Reserved).await?;
            let picked = claim_best(conn, h, *grade, *quantity as usize, *require_adjacent).await?;
            picked.iter().map(|s| (*grade, Some(*s), 1, price)).collect()
        }
        HoldRequest::Units { grade, quantity } => {
            check_quantity(*quantity)?;
            let price = grade_for(conn, h.session_id, *grade, SeatingMode::GeneralAdmission).await?;
            vec![(*grade, None, *quantity, price)]
        }
    };
    let total: i64 = lines.iter().map(|(_, _, q, p)| p * i64::from(*q)).sum();
    sqlx::query(
        "INSERT INTO holds (id, session_id, state, created_at, expires_at, total_minor, currency)
         VALUES ($1, $2, 'active', $3, $4, $5, $6)",
    )
    .bind(&h.id)
    .bind(h.session_id.0)
    .bind(h.now_ms)
    .bind(h.expires_at_ms)
    .bind(total)
    .bind(&currency)
    .execute(&mut *conn)
    .await
    .map_err(|e| match is_unique_violation(&e) {
        true => StoreError::Conflict("hold id already exists".into()),
        false => e.into(),
    })?;
    let seat_ids: Vec<Option<i64>> = lines.iter().map(|l| l.1.map(|s| s.0)).collect();
    sqlx::query(
        "INSERT INTO hold_lines (hold_id, line, grade_id, seat_id, quantity, unit_price_minor)
         SELECT $1, l.ord - 1, l.grade_id, l.seat_id, l.quantity, l.price
         FROM UNNEST($2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[])
              WITH ORDINALITY AS l (grade_id, seat_id, quantity, price, ord)",
    )
    .bind(&h.id)
    .bind(lines.iter().map(|l| l.0.0).collect::<Vec<_>>())
    .bind(&seat_ids)
    .bind(lines.iter().map(|l| i64::from(l.2)).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.3).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    // The counters last, so a shard row is locked for as short a time as possible before the
    // commit; grades in ascending order (a BTreeMap): the lock order of all writers.
    let mut per_grade: BTreeMap<GradeId, u32> = BTreeMap::new();
    for (grade, _, quantity, _) in &lines {
        *per_grade.entry(*grade).or_default() += quantity;
    }
    let mut claims: Vec<Claim> = Vec::new();
    for (grade, n) in per_grade {
        claims.extend(shards::take(conn, h.session_id, grade, n).await?);
    }
    shards::record(conn, &h.id, &claims).await
}

/// The grade's price, if it is offered in this session with this seating mode.
async fn grade_for(conn: &mut PgConnection, session: SessionId, grade: GradeId, mode: SeatingMode) -> StoreResult<i64> {
    let row = sqlx::query(
        "SELECT g.seating, g.price_minor FROM grades g JOIN sessions s ON s.event_id = g.event_id
         WHERE g.id = $1 AND s.id = $2",
    )
    .bind(grade.0)
    .bind(session.0)
    .fetch_optional(&mut *conn)
    .await?;
    grade_price(row, session, grade, mode)
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
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('admit best-available ' || $1 || '/' || $2, 0))")
        .bind(h.session_id.0)
        .bind(grade.0)
        .execute(&mut *conn)
        .await?;
    for _ in 0..REPICKS {
        let seats = sqlx::query(
            "SELECT id, row_rank, row_label, number, state FROM seats WHERE session_id = $1 AND grade_id = $2",
        )
        .bind(h.session_id.0)
        .bind(grade.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode::seat_pos)
        .collect::<StoreResult<Vec<_>>>()?;
        let picked = best_available(&seats, quantity, adjacent).ok_or(StoreError::SoldOut)?;
        let ids: Vec<i64> = picked.seats.iter().map(|s| s.0).collect();
        if mark_held(conn, h, &ids).await? == ids.len() as u64 {
            return Ok(picked.seats);
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

pub async fn load(conn: &mut PgConnection, id: &str) -> StoreResult<Hold> {
    let r = sqlx::query(
        "SELECT h.*, s.event_id, o.id AS order_id FROM holds h JOIN sessions s ON s.id = h.session_id
         LEFT JOIN orders o ON o.hold_id = h.id WHERE h.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("hold"))?;
    let lines = sqlx::query(&format!("{HOLD_LINES} WHERE l.hold_id = $1 ORDER BY l.line"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    decode::hold(id, &r, &lines)
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
