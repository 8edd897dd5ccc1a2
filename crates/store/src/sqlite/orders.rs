//! Payments, orders and tickets: the step from an approved payment to issued tickets.

use super::sql::{exec, exec_unique, row, rows, scalar};
use crate::decode::{self, TICKET_SELECT};
use crate::model::*;
use crate::rows::{Columns, i64_at, money_at, parsed, str_at};
use crate::rules::{check_tickets_match, settle_from};
use crate::{StoreError, StoreResult};
use admit_domain::{HoldState, PaymentState, TicketId};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

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
        params![p.id, p.hold_id, p.gateway, p.amount.minor, p.amount.currency.code(), p.method, p.now_ms],
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

pub fn complete(c: &Connection, o: &CompleteOrder) -> StoreResult<String> {
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
        return Ok(existing);
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
        "SELECT h.session_id, h.state, h.expires_at, h.total_minor, h.currency, l.grade_id, l.seat_id, l.quantity
         FROM holds h LEFT JOIN hold_lines l ON l.hold_id = h.id WHERE h.id = ?",
        [&o.hold_id],
    )?;
    let h = lines.first().ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(h, "state", HoldState::parse)?.effective(i64_at(h, "expires_at")?, o.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    let (session, total, currency) = (i64_at(h, "session_id")?, i64_at(h, "total_minor")?, str_at(h, "currency")?);
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
    Ok(o.order_id.clone())
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
