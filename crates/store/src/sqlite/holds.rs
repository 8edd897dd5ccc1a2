//! Holds: claiming seats or units all-or-nothing, loading, cancelling and expiring them.

use super::sql::{SqlRow, exec, exec_unique, row, rows, scalar};
use crate::decode::{self, HOLD_LINES};
use crate::model::*;
use crate::rows::{Columns, corrupt, i64_at, parsed, str_at};
use crate::rules::{check_quantity, check_seat_list, entry_policy, grade_price, hold_total};
use crate::{StoreError, StoreResult};
use admit_domain::{
    Currency, EntryPolicy, EventId, GradeId, HoldState, Money, SeatId, SeatingMode, SessionId, best_available,
};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// One read for everything a hold's answer needs besides its seats: the session's event and
/// currency, and the named grade (none for explicit seats) as this event offers it.
const OFFER: &str = "SELECT s.event_id, e.currency, g.id AS grade_id, g.seating, g.price_minor, g.code,
                            g.max_entries, g.reentry, g.multi_day
     FROM sessions s JOIN events e ON e.id = s.event_id
     LEFT JOIN grades g ON g.event_id = s.event_id AND g.id = ?2
     WHERE s.id = ?1";

/// Claims what the hold asks for, all or nothing, and answers with the new hold as a read of
/// it would (the conformance suite holds it to that), without reading it back.
pub fn create(c: &Connection, h: &NewHold) -> StoreResult<Hold> {
    let named = match &h.request {
        HoldRequest::Seats(_) => None,
        HoldRequest::BestAvailable { grade, .. } | HoldRequest::Units { grade, .. } => Some(grade.0),
    };
    let offer = row(c, OFFER, params![h.session_id.0, named])?.ok_or(StoreError::NotFound("session"))?;
    let currency = Currency::parse(&str_at(&offer, "currency")?).map_err(|e| corrupt(e.to_string()))?;
    let lines = match &h.request {
        HoldRequest::Seats(ids) => claim_seats(c, h, ids, currency, None)?,
        HoldRequest::BestAvailable { grade, quantity, require_adjacent } => {
            check_quantity(*quantity)?;
            let offered = grade_offered(&offer, h.session_id, *grade, SeatingMode::Reserved)?;
            let picked = pick_best(c, h.session_id, *grade, *quantity as usize, *require_adjacent)?;
            claim_seats(c, h, &picked, currency, Some(offered))?
        }
        HoldRequest::Units { grade, quantity } => {
            check_quantity(*quantity)?;
            let offered = grade_offered(&offer, h.session_id, *grade, SeatingMode::GeneralAdmission)?;
            let claimed = exec(
                c,
                "UPDATE inventory SET held = held + ? WHERE session_id = ? AND grade_id = ? AND total - held - sold >= ?",
                params![i64::from(*quantity), h.session_id.0, grade.0, i64::from(*quantity)],
            )?;
            if claimed != 1 {
                return Err(StoreError::SoldOut);
            }
            vec![offered.line(None, *quantity, currency)?]
        }
    };
    let total = hold_total(&lines, currency)?;
    exec_unique(
        c,
        "INSERT INTO holds (id, session_id, state, created_at, expires_at, total_minor, currency)
         VALUES (?, ?, 'active', ?, ?, ?, ?)",
        params![h.id, h.session_id.0, h.now_ms, h.expires_at_ms, total.minor(), currency.code()],
        || StoreError::Conflict("hold id already exists".into()),
    )?;
    for (i, l) in lines.iter().enumerate() {
        exec(
            c,
            "INSERT INTO hold_lines (hold_id, line, grade_id, seat_id, quantity, unit_price_minor) VALUES (?, ?, ?, ?, ?, ?)",
            params![
                h.id,
                i as i64,
                l.grade_id.0,
                l.seat.as_ref().map(|s| s.0.0),
                i64::from(l.quantity),
                l.unit_price.minor()
            ],
        )?;
    }
    Ok(Hold {
        id: h.id.clone(),
        session_id: h.session_id,
        event_id: EventId(i64_at(&offer, "event_id")?),
        state: HoldState::Active,
        created_at_ms: h.now_ms,
        expires_at_ms: h.expires_at_ms,
        total,
        lines,
        order_id: None,
    })
}

/// What a hold line repeats of its grade.
#[derive(Clone)]
struct OfferedGrade {
    id: GradeId,
    code: String,
    price_minor: i64,
    policy: EntryPolicy,
}

impl OfferedGrade {
    fn read(r: &SqlRow) -> StoreResult<OfferedGrade> {
        Ok(OfferedGrade {
            id: GradeId(i64_at(r, "grade_id")?),
            code: str_at(r, "code")?,
            price_minor: i64_at(r, "price_minor")?,
            policy: entry_policy(r)?,
        })
    }

    fn line(&self, seat: Option<(SeatId, String)>, quantity: u32, currency: Currency) -> StoreResult<HoldLine> {
        let unit_price = Money::new(self.price_minor, currency).map_err(|e| corrupt(e.to_string()))?;
        Ok(HoldLine {
            grade_id: self.id,
            grade_code: self.code.clone(),
            seat,
            quantity,
            unit_price,
            policy: self.policy,
        })
    }
}

/// The grade named in the request, if the session's event offers it with this seating mode.
fn grade_offered(offer: &SqlRow, session: SessionId, grade: GradeId, mode: SeatingMode) -> StoreResult<OfferedGrade> {
    let found = offer.opt_i64_col("grade_id")?.is_some();
    grade_price(found.then_some(offer), session, grade, mode)?;
    OfferedGrade::read(offer)
}

/// What `best_available` would pick over the whole grade, reading as little of it as it can.
/// `best_available` tries rows best first and takes the first row holding `n` adjacent free
/// seats, and a row's window depends on that row alone; so trying the rows that still have a
/// free seat, one at a time in the same order, gives the same answer. When no row has such a
/// window, the rows read so far hold every free seat of the grade, which is all the fallback
/// (scattered seats) looks at; rows without a free seat are never read.
fn pick_best(
    c: &Connection,
    session: SessionId,
    grade: GradeId,
    n: usize,
    require_adjacent: bool,
) -> StoreResult<Vec<SeatId>> {
    // Ranks come from `i32`s, so no row sorts before (i64::MIN, '').
    let mut after: (i64, String) = (i64::MIN, String::new());
    let mut read = Vec::new();
    loop {
        let next = row(
            c,
            "SELECT row_rank, row_label FROM seats WHERE session_id = ? AND grade_id = ? AND state = 'free'
               AND (row_rank, row_label) > (?, ?) ORDER BY row_rank, row_label LIMIT 1",
            params![session.0, grade.0, after.0, after.1],
        )?;
        let Some(next) = next else { break };
        after = (i64_at(&next, "row_rank")?, str_at(&next, "row_label")?);
        let seats = seat_positions(rows(
            c,
            "SELECT id, row_rank, row_label, number, state FROM seats
             WHERE session_id = ? AND grade_id = ? AND row_rank = ? AND row_label = ?",
            params![session.0, grade.0, after.0, after.1],
        )?)?;
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

fn seat_positions(rows: Vec<SqlRow>) -> StoreResult<Vec<admit_domain::SeatPos>> {
    rows.iter().map(decode::seat_pos).collect()
}

/// Marks each seat held by this hold, or fails the whole hold. `known` is the grade the
/// request named, if any; other grades are read once each.
fn claim_seats(
    c: &Connection,
    h: &NewHold,
    ids: &[SeatId],
    currency: Currency,
    known: Option<OfferedGrade>,
) -> StoreResult<Vec<HoldLine>> {
    check_seat_list(ids)?;
    let mut grades: BTreeMap<GradeId, OfferedGrade> = known.into_iter().map(|g| (g.id, g)).collect();
    let mut per_grade: BTreeMap<GradeId, i64> = BTreeMap::new();
    let mut lines = Vec::with_capacity(ids.len());
    for seat in ids {
        let claimed = row(
            c,
            "UPDATE seats SET state = 'held', hold_id = ? WHERE id = ? AND session_id = ? AND state = 'free'
             RETURNING grade_id, label",
            params![h.id, seat.0, h.session_id.0],
        )?;
        let Some(claimed) = claimed else {
            let exists: Option<i64> =
                scalar(c, "SELECT id FROM seats WHERE id = ? AND session_id = ?", [seat.0, h.session_id.0])?;
            return Err(match exists {
                Some(_) => StoreError::SoldOut,
                None => StoreError::Invalid(format!("seat {seat} is not part of session {}", h.session_id)),
            });
        };
        let grade = GradeId(i64_at(&claimed, "grade_id")?);
        let offered = match grades.entry(grade) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => {
                let r = row(
                    c,
                    "SELECT id AS grade_id, code, price_minor, max_entries, reentry, multi_day FROM grades WHERE id = ?",
                    [grade.0],
                )?
                .ok_or_else(|| corrupt(format!("seat {seat} has no grade {grade}")))?;
                new.insert(OfferedGrade::read(&r)?)
            }
        };
        *per_grade.entry(grade).or_default() += 1;
        lines.push(offered.line(Some((*seat, str_at(&claimed, "label")?)), 1, currency)?);
    }
    for (grade, n) in per_grade {
        exec(
            c,
            "UPDATE inventory SET held = held + ? WHERE session_id = ? AND grade_id = ?",
            [n, h.session_id.0, grade.0],
        )?;
    }
    Ok(lines)
}

pub fn load(c: &Connection, id: &str) -> StoreResult<Hold> {
    let r = row(
        c,
        "SELECT h.*, s.event_id, o.id AS order_id FROM holds h JOIN sessions s ON s.id = h.session_id
         LEFT JOIN orders o ON o.hold_id = h.id WHERE h.id = ?",
        [id],
    )?
    .ok_or(StoreError::NotFound("hold"))?;
    let lines = rows(c, &format!("{HOLD_LINES} WHERE l.hold_id = ? ORDER BY l.line"), [id])?;
    decode::hold(id, &r, &lines)
}

/// Returns an active hold's seats and units to sale and marks it `to`.
fn release(c: &Connection, id: &str, session: i64, to: HoldState) -> StoreResult<()> {
    exec(c, "UPDATE seats SET state = 'free', hold_id = NULL WHERE hold_id = ? AND state = 'held'", [id])?;
    exec(
        c,
        "UPDATE inventory SET held = held - (SELECT SUM(l.quantity) FROM hold_lines l
                                             WHERE l.hold_id = ?1 AND l.grade_id = inventory.grade_id)
         WHERE session_id = ?2 AND grade_id IN (SELECT grade_id FROM hold_lines WHERE hold_id = ?1)",
        params![id, session],
    )?;
    exec(c, "UPDATE holds SET state = ? WHERE id = ? AND state = 'active'", params![to.as_str(), id])?;
    Ok(())
}

pub fn cancel(c: &Connection, id: &str, now_ms: i64) -> StoreResult<()> {
    let r = row(c, "SELECT session_id, state, expires_at FROM holds WHERE id = ?", [id])?
        .ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(&r, "state", HoldState::parse)?;
    match state {
        HoldState::Active => {
            let to = match state.effective(i64_at(&r, "expires_at")?, now_ms) {
                HoldState::Expired => HoldState::Expired,
                _ => HoldState::Released,
            };
            release(c, id, i64_at(&r, "session_id")?, to)
        }
        HoldState::Converted => Err(StoreError::HoldNotActive(HoldState::Converted)),
        HoldState::Released | HoldState::Expired => Ok(()),
    }
}

pub fn expire_due(c: &Connection, now_ms: i64) -> StoreResult<u64> {
    let due =
        rows(c, "SELECT id, session_id FROM holds WHERE state = 'active' AND expires_at <= ? LIMIT 2000", [now_ms])?;
    for r in &due {
        release(c, &str_at(r, "id")?, i64_at(r, "session_id")?, HoldState::Expired)?;
    }
    Ok(due.len() as u64)
}
