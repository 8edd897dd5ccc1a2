//! Holds: claiming seats or units all-or-nothing, loading, cancelling and expiring them.

use crate::decode::{self, HOLD_LINES};
use crate::model::*;
use crate::rows::{i64_at, is_unique_violation, parsed, str_at};
use crate::rules::{check_quantity, check_seat_list, grade_price};
use crate::{StoreError, StoreResult};
use admit_domain::{GradeId, HoldState, SeatId, SeatingMode, SessionId, best_available};
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

/// A claimed line: grade, optional seat, quantity, unit price.
type Line = (GradeId, Option<SeatId>, u32, i64);

pub async fn create(conn: &mut SqliteConnection, h: &NewHold) -> StoreResult<()> {
    let currency: String =
        sqlx::query_scalar("SELECT e.currency FROM sessions s JOIN events e ON e.id = s.event_id WHERE s.id = ?")
            .bind(h.session_id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("session"))?;
    let lines = match &h.request {
        HoldRequest::Seats(ids) => claim_seats(conn, h, ids).await?,
        HoldRequest::BestAvailable { grade, quantity, require_adjacent } => {
            check_quantity(*quantity)?;
            grade_for(conn, h.session_id, *grade, SeatingMode::Reserved).await?;
            let picked = pick_best(conn, h.session_id, *grade, *quantity as usize, *require_adjacent).await?;
            claim_seats(conn, h, &picked).await?
        }
        HoldRequest::Units { grade, quantity } => {
            check_quantity(*quantity)?;
            let price = grade_for(conn, h.session_id, *grade, SeatingMode::GeneralAdmission).await?;
            let claimed = sqlx::query(
                "UPDATE inventory SET held = held + ? WHERE session_id = ? AND grade_id = ? AND total - held - sold >= ?",
            )
            .bind(i64::from(*quantity))
            .bind(h.session_id.0)
            .bind(grade.0)
            .bind(i64::from(*quantity))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if claimed != 1 {
                return Err(StoreError::SoldOut);
            }
            vec![(*grade, None, *quantity, price)]
        }
    };
    let total: i64 = lines.iter().map(|(_, _, q, p)| p * i64::from(*q)).sum();
    sqlx::query(
        "INSERT INTO holds (id, session_id, state, created_at, expires_at, total_minor, currency)
         VALUES (?, ?, 'active', ?, ?, ?, ?)",
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
    for (i, (grade, seat, qty, price)) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO hold_lines (hold_id, line, grade_id, seat_id, quantity, unit_price_minor) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&h.id)
        .bind(i as i64)
        .bind(grade.0)
        .bind(seat.map(|s| s.0))
        .bind(i64::from(*qty))
        .bind(price)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The grade's price, if it is offered in this session with this seating mode.
async fn grade_for(
    conn: &mut SqliteConnection,
    session: SessionId,
    grade: GradeId,
    mode: SeatingMode,
) -> StoreResult<i64> {
    let row = sqlx::query(
        "SELECT g.seating, g.price_minor FROM grades g JOIN sessions s ON s.event_id = g.event_id WHERE g.id = ? AND s.id = ?",
    )
    .bind(grade.0)
    .bind(session.0)
    .fetch_optional(&mut *conn)
    .await?
    ;
    grade_price(row, session, grade, mode)
}

/// What `best_available` would pick over the whole grade, reading as little of it as it can.
/// `best_available` tries rows best first and takes the first row holding `n` adjacent free
/// seats, and a row's window depends on that row alone; so trying the rows that still have a
/// free seat, one at a time in the same order, gives the same answer. When no row has such a
/// window, the rows read so far hold every free seat of the grade, which is all the fallback
/// (scattered seats) looks at; rows without a free seat are never read.
async fn pick_best(
    conn: &mut SqliteConnection,
    session: SessionId,
    grade: GradeId,
    n: usize,
    require_adjacent: bool,
) -> StoreResult<Vec<SeatId>> {
    // Ranks come from `i32`s, so no row sorts before (i64::MIN, '').
    let mut after: (i64, String) = (i64::MIN, String::new());
    let mut read = Vec::new();
    loop {
        let next = sqlx::query(
            "SELECT row_rank, row_label FROM seats WHERE session_id = ? AND grade_id = ? AND state = 'free'
               AND (row_rank, row_label) > (?, ?) ORDER BY row_rank, row_label LIMIT 1",
        )
        .bind(session.0)
        .bind(grade.0)
        .bind(after.0)
        .bind(&after.1)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = next else { break };
        after = (i64_at(&row, "row_rank")?, str_at(&row, "row_label")?);
        let seats = seat_positions(
            sqlx::query(
                "SELECT id, row_rank, row_label, number, state FROM seats
                 WHERE session_id = ? AND grade_id = ? AND row_rank = ? AND row_label = ?",
            )
            .bind(session.0)
            .bind(grade.0)
            .bind(after.0)
            .bind(&after.1)
            .fetch_all(&mut *conn)
            .await?,
        )?;
        if let Some(window) = best_available(&seats, n, true) {
            return Ok(window.seats);
        }
        read.extend(seats);
    }
    match require_adjacent {
        true => Err(StoreError::SoldOut),
        false => Ok(best_available(&read, n, false).ok_or(StoreError::SoldOut)?.seats),
    }
}

fn seat_positions(rows: Vec<sqlx::sqlite::SqliteRow>) -> StoreResult<Vec<admit_domain::SeatPos>> {
    rows.iter().map(decode::seat_pos).collect()
}

/// Marks each seat held by this hold, or fails the whole hold.
async fn claim_seats(conn: &mut SqliteConnection, h: &NewHold, ids: &[SeatId]) -> StoreResult<Vec<Line>> {
    check_seat_list(ids)?;
    let mut lines = Vec::with_capacity(ids.len());
    let mut per_grade: BTreeMap<GradeId, i64> = BTreeMap::new();
    for seat in ids {
        let claimed = sqlx::query(
            "UPDATE seats SET state = 'held', hold_id = ? WHERE id = ? AND session_id = ? AND state = 'free'
             RETURNING grade_id, (SELECT price_minor FROM grades g WHERE g.id = seats.grade_id) AS price",
        )
        .bind(&h.id)
        .bind(seat.0)
        .bind(h.session_id.0)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = claimed else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM seats WHERE id = ? AND session_id = ?")
                .bind(seat.0)
                .bind(h.session_id.0)
                .fetch_optional(&mut *conn)
                .await?;
            return Err(match exists {
                Some(_) => StoreError::SoldOut,
                None => StoreError::Invalid(format!("seat {seat} is not part of session {}", h.session_id)),
            });
        };
        let grade = GradeId(i64_at(&row, "grade_id")?);
        *per_grade.entry(grade).or_default() += 1;
        lines.push((grade, Some(*seat), 1, i64_at(&row, "price")?));
    }
    for (grade, n) in per_grade {
        sqlx::query("UPDATE inventory SET held = held + ? WHERE session_id = ? AND grade_id = ?")
            .bind(n)
            .bind(h.session_id.0)
            .bind(grade.0)
            .execute(&mut *conn)
            .await?;
    }
    Ok(lines)
}

pub async fn load(conn: &mut SqliteConnection, id: &str) -> StoreResult<Hold> {
    let r = sqlx::query(
        "SELECT h.*, s.event_id, o.id AS order_id FROM holds h JOIN sessions s ON s.id = h.session_id
         LEFT JOIN orders o ON o.hold_id = h.id WHERE h.id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("hold"))?;
    let lines = sqlx::query(&format!("{HOLD_LINES} WHERE l.hold_id = ? ORDER BY l.line"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    decode::hold(id, &r, &lines)
}

/// Returns an active hold's seats and units to sale and marks it `to`.
async fn release(conn: &mut SqliteConnection, id: &str, session: i64, to: HoldState) -> StoreResult<()> {
    sqlx::query("UPDATE seats SET state = 'free', hold_id = NULL WHERE hold_id = ? AND state = 'held'")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE inventory SET held = held - (SELECT SUM(l.quantity) FROM hold_lines l
                                             WHERE l.hold_id = ? AND l.grade_id = inventory.grade_id)
         WHERE session_id = ? AND grade_id IN (SELECT grade_id FROM hold_lines WHERE hold_id = ?)",
    )
    .bind(id)
    .bind(session)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE holds SET state = ? WHERE id = ? AND state = 'active'")
        .bind(to.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn cancel(conn: &mut SqliteConnection, id: &str, now_ms: i64) -> StoreResult<()> {
    let r = sqlx::query("SELECT session_id, state, expires_at FROM holds WHERE id = ?")
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
            release(conn, id, i64_at(&r, "session_id")?, to).await
        }
        HoldState::Converted => Err(StoreError::HoldNotActive(HoldState::Converted)),
        HoldState::Released | HoldState::Expired => Ok(()),
    }
}

pub async fn expire_due(conn: &mut SqliteConnection, now_ms: i64) -> StoreResult<u64> {
    let due = sqlx::query("SELECT id, session_id FROM holds WHERE state = 'active' AND expires_at <= ? LIMIT 2000")
        .bind(now_ms)
        .fetch_all(&mut *conn)
        .await?;
    for r in &due {
        release(conn, &str_at(r, "id")?, i64_at(r, "session_id")?, HoldState::Expired).await?;
    }
    Ok(due.len() as u64)
}
