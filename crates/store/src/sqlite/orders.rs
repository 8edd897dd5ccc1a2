//! Payments, orders and tickets: the step from an approved payment to issued tickets.

use super::sql::{exec, exec_unique, row, rows, scalar};
use crate::decode::{self, TICKET_SELECT};
use crate::model::*;
use crate::rows::{i64_at, money_at, parsed, str_at};
use crate::rules::{check_tickets_match, settle_from};
use crate::{StoreError, StoreResult};
use admit_domain::{HoldState, PaymentState, TicketId};
use rusqlite::{Connection, params};

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
    if let Some(existing) = scalar::<String>(c, "SELECT id FROM orders WHERE payment_id = ?", [&o.payment_id])? {
        return Ok(existing);
    }
    let p = row(c, "SELECT hold_id, state FROM payments WHERE id = ?", [&o.payment_id])?
        .ok_or(StoreError::NotFound("payment"))?;
    if str_at(&p, "hold_id")? != o.hold_id {
        return Err(StoreError::Invalid("the payment belongs to another hold".into()));
    }
    let pstate = parsed(&p, "state", PaymentState::parse)?;
    if pstate != PaymentState::Pending {
        return Err(StoreError::Conflict(format!("payment is {}", pstate.as_str())));
    }
    let h =
        row(c, "SELECT session_id, state, expires_at, total_minor, currency FROM holds WHERE id = ?", [&o.hold_id])?
            .ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(&h, "state", HoldState::parse)?.effective(i64_at(&h, "expires_at")?, o.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    let session = i64_at(&h, "session_id")?;
    let lines = rows(c, "SELECT grade_id, seat_id, quantity FROM hold_lines WHERE hold_id = ?", [&o.hold_id])?;
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
        params![
            o.order_id,
            o.hold_id,
            o.payment_id,
            session,
            i64_at(&h, "total_minor")?,
            str_at(&h, "currency")?,
            o.now_ms
        ],
    )?;
    exec(c, "UPDATE holds SET state = 'converted' WHERE id = ?", [&o.hold_id])?;
    let sold = exec(c, "UPDATE seats SET state = 'sold' WHERE hold_id = ? AND state = 'held'", [&o.hold_id])? as u64;
    if sold != seat_lines {
        return Err(StoreError::Other(format!("hold {} had {seat_lines} seats, {sold} were held", o.hold_id).into()));
    }
    exec(
        c,
        "UPDATE inventory SET
            held = held - (SELECT SUM(l.quantity) FROM hold_lines l WHERE l.hold_id = ?1 AND l.grade_id = inventory.grade_id),
            sold = sold + (SELECT SUM(l.quantity) FROM hold_lines l WHERE l.hold_id = ?1 AND l.grade_id = inventory.grade_id)
         WHERE session_id = ?2 AND grade_id IN (SELECT grade_id FROM hold_lines WHERE hold_id = ?1)",
        params![o.hold_id, session],
    )?;
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
