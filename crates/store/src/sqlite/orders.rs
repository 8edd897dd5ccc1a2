//! Payments, orders and tickets: the step from an approved payment to issued tickets.

use super::sql::{SqlRow, exec, exec_unique, row, rows, scalar};
use crate::decode::{self, TICKET_SELECT};
use crate::model::*;
use crate::rows::{Columns, corrupt, i64_at, money_at, parsed, str_at};
use crate::rules::{check_tickets_match, settle_from};
use crate::{StoreError, StoreResult};
use admit_domain::{
    Currency, EntryPolicy, EventId, GradeId, HoldState, Money, OrderState, PaymentState, SeatId, SessionEntries,
    SessionId, TicketId, TicketStatus,
};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

pub fn begin_payment(c: &Connection, p: &NewPayment) -> StoreResult<()> {
    let h = row(c, "SELECT state, expires_at, total_minor, currency FROM holds WHERE id = ?", [&p.hold_id])?
        .ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(&h, "state", HoldState::parse)?.effective(i64_at(&h, "expires_at")?, p.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    if money_at(&h, "total_minor", "currency")? != p.amount {
        return Err(StoreError::Invalid("the amount differs from the hold's total".into()));
    }
    exec_unique(
        c,
        "INSERT INTO payments (id, hold_id, gateway, amount_minor, currency, method, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
        params![p.id, p.hold_id, p.gateway, p.amount.minor(), p.amount.currency().code(), p.method, p.now_ms],
        || StoreError::Conflict("another payment for this hold is in progress".into()),
    )?;
    Ok(())
}

pub fn settle_payment(
    c: &Connection,
    id: &str,
    to: PaymentState,
    detail: Option<&str>,
    now_ms: i64,
) -> StoreResult<()> {
    let from = settle_from(to)?;
    if to == PaymentState::Refunded {
        let has_order: Option<String> = scalar(c, "SELECT id FROM orders WHERE payment_id = ?", [id])?;
        if has_order.is_some() {
            return Err(StoreError::Conflict("the payment paid for an order; refund the order instead".into()));
        }
    }
    let done = exec(
        c,
        &format!(
            "UPDATE payments SET state = ?, detail = ?, updated_at = ? WHERE id = ? AND state IN ({})",
            from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
        ),
        params![to.as_str(), detail, now_ms, id],
    )?;
    if done == 0 {
        let current = payment(c, id)?;
        if current.state != to {
            return Err(StoreError::Conflict(format!("payment is {}", current.state.as_str())));
        }
    }
    Ok(())
}

/// What completing an order did: issued it now (answered from what was written, as a read of
/// it would; the conformance suite holds it to that), or found the order this payment had
/// already completed.
pub enum Completed {
    Issued(Order),
    Already(String),
}

pub fn complete(c: &Connection, o: &CompleteOrder) -> StoreResult<Completed> {
    // The payment with the order it already paid for, if any (a repeated completion answers
    // with that order), then the hold with its lines: two reads on the single writer.
    let p = row(
        c,
        "SELECT hold_id, state, (SELECT id FROM orders WHERE payment_id = payments.id) AS order_id
         FROM payments WHERE id = ?",
        [&o.payment_id],
    )?
    .ok_or(StoreError::NotFound("payment"))?;
    if let Some(existing) = p.opt_str_col("order_id")? {
        return Ok(Completed::Already(existing));
    }
    if str_at(&p, "hold_id")? != o.hold_id {
        return Err(StoreError::Invalid("the payment belongs to another hold".into()));
    }
    let pstate = parsed(&p, "state", PaymentState::parse)?;
    if pstate != PaymentState::Pending {
        return Err(StoreError::Conflict(format!("payment is {}", pstate.as_str())));
    }
    let mut lines = rows(
        c,
        "SELECT h.session_id, s.event_id, h.state, h.expires_at, h.total_minor, h.currency,
                l.grade_id, l.seat_id, l.quantity, g.code AS grade_code, g.reentry, g.multi_day,
                st.label AS seat_label, st.row_rank, st.number
         FROM holds h JOIN sessions s ON s.id = h.session_id LEFT JOIN hold_lines l ON l.hold_id = h.id
         LEFT JOIN grades g ON g.id = l.grade_id LEFT JOIN seats st ON st.id = l.seat_id
         WHERE h.id = ?",
        [&o.hold_id],
    )?;
    let h = lines.first().ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(h, "state", HoldState::parse)?.effective(i64_at(h, "expires_at")?, o.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    let (session, total, currency) = (i64_at(h, "session_id")?, i64_at(h, "total_minor")?, str_at(h, "currency")?);
    let (event, amount) = (EventId(i64_at(h, "event_id")?), money_at(h, "total_minor", "currency")?);
    // A hold without lines comes back as one row of NULL line columns.
    lines.retain(|l| matches!(l.opt_i64_col("grade_id"), Ok(Some(_))));
    let seat_lines = check_tickets_match(&lines, &o.tickets)?;
    exec(
        c,
        "UPDATE payments SET state = 'approved', authorization = ?, updated_at = ? WHERE id = ?",
        params![o.authorization, o.now_ms, o.payment_id],
    )?;
    exec(
        c,
        "INSERT INTO orders (id, hold_id, payment_id, session_id, state, total_minor, currency, created_at)
         VALUES (?, ?, ?, ?, 'paid', ?, ?, ?)",
        params![o.order_id, o.hold_id, o.payment_id, session, total, currency, o.now_ms],
    )?;
    exec(c, "UPDATE holds SET state = 'converted' WHERE id = ?", [&o.hold_id])?;
    if seat_lines > 0 {
        let sold =
            exec(c, "UPDATE seats SET state = 'sold' WHERE hold_id = ? AND state = 'held'", [&o.hold_id])? as u64;
        if sold != seat_lines {
            return Err(StoreError::Other(
                format!("hold {} had {seat_lines} seats, {sold} were held", o.hold_id).into(),
            ));
        }
    }
    let mut per_grade: BTreeMap<i64, i64> = BTreeMap::new();
    for l in &lines {
        *per_grade.entry(i64_at(l, "grade_id")?).or_default() += i64_at(l, "quantity")?;
    }
    for (grade, quantity) in per_grade {
        exec(
            c,
            "UPDATE inventory SET held = held - ?1, sold = sold + ?1 WHERE session_id = ?2 AND grade_id = ?3",
            params![quantity, session, grade],
        )?;
    }
    for t in &o.tickets {
        exec_unique(
            c,
            "INSERT INTO tickets (id, order_id, session_id, grade_id, seat_id, reference, version, status,
                                  max_entries, price_minor, credential, inspection_code, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'valid', ?, ?, ?, ?, ?)",
            params![
                t.id.0,
                o.order_id,
                session,
                t.grade_id.0,
                t.seat_id.map(|s| s.0),
                t.reference,
                i64::from(t.version),
                i64::from(t.max_entries),
                t.price_minor,
                t.credential,
                t.inspection_code,
                o.now_ms
            ],
            || StoreError::Conflict("a seat or ticket id in this order is already taken".into()),
        )?;
    }
    let tickets = issued_tickets(o, &lines, SessionId(session), event, amount.currency())?;
    Ok(Completed::Issued(Order {
        id: o.order_id.clone(),
        hold_id: o.hold_id.clone(),
        payment_id: o.payment_id.clone(),
        session_id: SessionId(session),
        event_id: event,
        state: OrderState::Paid,
        total: amount,
        created_at_ms: o.now_ms,
        tickets,
    }))
}

/// The order's new tickets as [`load_order`] reads them: grade code and policy from their
/// hold line, seat label from their seat, in seat order (row rank, number) then by reference.
fn issued_tickets(
    o: &CompleteOrder,
    lines: &[SqlRow],
    session: SessionId,
    event: EventId,
    currency: Currency,
) -> StoreResult<Vec<Ticket>> {
    let mut grades = BTreeMap::new();
    let mut seats = BTreeMap::new();
    for l in lines {
        let grade = GradeId(i64_at(l, "grade_id")?);
        if let Entry::Vacant(new) = grades.entry(grade) {
            new.insert((str_at(l, "grade_code")?, l.bool_col("reentry")?, l.bool_col("multi_day")?));
        }
        if let Some(seat) = l.opt_i64_col("seat_id")? {
            seats.insert(SeatId(seat), (str_at(l, "seat_label")?, i64_at(l, "row_rank")?, i64_at(l, "number")?));
        }
    }
    let mut sorted = Vec::with_capacity(o.tickets.len());
    for t in &o.tickets {
        let (code, reentry, multi_day) =
            grades.get(&t.grade_id).ok_or_else(|| corrupt("a ticket of no line's grade"))?;
        let seat = match t.seat_id {
            Some(id) => Some(seats.get(&id).ok_or_else(|| corrupt("a ticket of no line's seat"))?),
            None => None,
        };
        let ticket = Ticket {
            id: t.id,
            order_id: o.order_id.clone(),
            session_id: session,
            event_id: event,
            grade_id: t.grade_id,
            grade_code: code.clone(),
            seat_label: seat.map(|(label, _, _)| label.clone()),
            reference: t.reference.clone(),
            version: t.version,
            status: TicketStatus::Valid,
            entries_used: 0,
            max_entries: t.max_entries,
            policy: EntryPolicy { max_entries: t.max_entries, reentry: *reentry, multi_day: *multi_day },
            inside: false,
            session_entries: SessionEntries::default(),
            credential: t.credential.clone(),
            inspection_code: t.inspection_code.clone(),
            price: Money::new(t.price_minor, currency).map_err(|e| corrupt(e.to_string()))?,
        };
        sorted.push((seat.map(|(_, rank, number)| (*rank, *number)), ticket));
    }
    sorted.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.reference.cmp(&y.reference)));
    Ok(sorted.into_iter().map(|(_, t)| t).collect())
}

pub fn payment(c: &Connection, id: &str) -> StoreResult<Payment> {
    let r = row(c, "SELECT * FROM payments WHERE id = ?", [id])?.ok_or(StoreError::NotFound("payment"))?;
    decode::payment(&r)
}

pub fn payments_in_state(c: &Connection, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>> {
    rows(
        c,
        "SELECT * FROM payments WHERE state = ? AND updated_at < ? ORDER BY updated_at LIMIT 1000",
        params![state.as_str(), before_ms],
    )?
    .iter()
    .map(decode::payment)
    .collect()
}

pub fn load_order(c: &Connection, id: &str) -> StoreResult<Order> {
    let r = row(c, "SELECT o.*, s.event_id FROM orders o JOIN sessions s ON s.id = o.session_id WHERE o.id = ?", [id])?
        .ok_or(StoreError::NotFound("order"))?;
    let tickets =
        rows(c, &format!("{TICKET_SELECT} WHERE t.order_id = ? ORDER BY st.row_rank, st.number, t.reference"), [id])?
            .iter()
            .map(decode::ticket)
            .collect::<StoreResult<Vec<_>>>()?;
    decode::order(id, &r, tickets)
}

pub fn ticket(c: &Connection, id: TicketId) -> StoreResult<Ticket> {
    let r = row(c, &format!("{TICKET_SELECT} WHERE t.id = ?"), [id.0])?.ok_or(StoreError::NotFound("ticket"))?;
    decode::ticket(&r)
}
