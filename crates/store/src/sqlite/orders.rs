//! Payments, orders and tickets: the step from an approved payment to issued tickets.

use crate::decode::{self, TICKET_SELECT};
use crate::model::*;
use crate::rows::{i64_at, is_unique_violation, money_at, parsed, str_at};
use crate::rules::{check_tickets_match, settle_from};
use crate::{StoreError, StoreResult};
use admit_domain::{HoldState, PaymentState, TicketId};
use sqlx::{SqliteConnection, SqlitePool};

pub async fn begin_payment(conn: &mut SqliteConnection, p: &NewPayment) -> StoreResult<()> {
    let h = sqlx::query("SELECT state, expires_at, total_minor, currency FROM holds WHERE id = ?")
        .bind(&p.hold_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(&h, "state", HoldState::parse)?.effective(i64_at(&h, "expires_at")?, p.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    if money_at(&h, "total_minor", "currency")? != p.amount {
        return Err(StoreError::Invalid("the amount differs from the hold's total".into()));
    }
    sqlx::query(
        "INSERT INTO payments (id, hold_id, gateway, amount_minor, currency, method, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
    )
    .bind(&p.id)
    .bind(&p.hold_id)
    .bind(&p.gateway)
    .bind(p.amount.minor)
    .bind(p.amount.currency.code())
    .bind(&p.method)
    .bind(p.now_ms)
    .bind(p.now_ms)
    .execute(&mut *conn)
    .await
    .map_err(|e| match is_unique_violation(&e) {
        true => StoreError::Conflict("another payment for this hold is in progress".into()),
        false => e.into(),
    })?;
    Ok(())
}

pub async fn settle_payment(
    conn: &mut SqliteConnection,
    id: &str,
    to: PaymentState,
    detail: Option<&str>,
    now_ms: i64,
) -> StoreResult<()> {
    let from = settle_from(to)?;
    if to == PaymentState::Refunded {
        let has_order: Option<String> = sqlx::query_scalar("SELECT id FROM orders WHERE payment_id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if has_order.is_some() {
            return Err(StoreError::Conflict("the payment paid for an order; refund the order instead".into()));
        }
    }
    let done = sqlx::query(&format!(
        "UPDATE payments SET state = ?, detail = ?, updated_at = ? WHERE id = ? AND state IN ({})",
        from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
    ))
    .bind(to.as_str())
    .bind(detail)
    .bind(now_ms)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done == 0 {
        let current = payment(conn, id).await?;
        if current.state != to {
            return Err(StoreError::Conflict(format!("payment is {}", current.state.as_str())));
        }
    }
    Ok(())
}

pub async fn complete(conn: &mut SqliteConnection, o: &CompleteOrder) -> StoreResult<String> {
    if let Some(existing) = sqlx::query_scalar::<_, String>("SELECT id FROM orders WHERE payment_id = ?")
        .bind(&o.payment_id)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(existing);
    }
    let p = sqlx::query("SELECT hold_id, state FROM payments WHERE id = ?")
        .bind(&o.payment_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("payment"))?;
    if str_at(&p, "hold_id")? != o.hold_id {
        return Err(StoreError::Invalid("the payment belongs to another hold".into()));
    }
    let pstate = parsed(&p, "state", PaymentState::parse)?;
    if pstate != PaymentState::Pending {
        return Err(StoreError::Conflict(format!("payment is {}", pstate.as_str())));
    }
    let h = sqlx::query("SELECT session_id, state, expires_at, total_minor, currency FROM holds WHERE id = ?")
        .bind(&o.hold_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(&h, "state", HoldState::parse)?.effective(i64_at(&h, "expires_at")?, o.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    let session = i64_at(&h, "session_id")?;
    let lines = sqlx::query("SELECT grade_id, seat_id, quantity FROM hold_lines WHERE hold_id = ?")
        .bind(&o.hold_id)
        .fetch_all(&mut *conn)
        .await?;
    let seat_lines = check_tickets_match(&lines, &o.tickets)?;
    sqlx::query("UPDATE payments SET state = 'approved', authorization = ?, updated_at = ? WHERE id = ?")
        .bind(&o.authorization)
        .bind(o.now_ms)
        .bind(&o.payment_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO orders (id, hold_id, payment_id, session_id, state, total_minor, currency, created_at)
         VALUES (?, ?, ?, ?, 'paid', ?, ?, ?)",
    )
    .bind(&o.order_id)
    .bind(&o.hold_id)
    .bind(&o.payment_id)
    .bind(session)
    .bind(i64_at(&h, "total_minor")?)
    .bind(str_at(&h, "currency")?)
    .bind(o.now_ms)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE holds SET state = 'converted' WHERE id = ?").bind(&o.hold_id).execute(&mut *conn).await?;
    let sold = sqlx::query("UPDATE seats SET state = 'sold' WHERE hold_id = ? AND state = 'held'")
        .bind(&o.hold_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if sold != seat_lines {
        return Err(StoreError::Other(format!("hold {} had {seat_lines} seats, {sold} were held", o.hold_id).into()));
    }
    sqlx::query(
        "UPDATE inventory SET
            held = held - (SELECT SUM(l.quantity) FROM hold_lines l WHERE l.hold_id = ? AND l.grade_id = inventory.grade_id),
            sold = sold + (SELECT SUM(l.quantity) FROM hold_lines l WHERE l.hold_id = ? AND l.grade_id = inventory.grade_id)
         WHERE session_id = ? AND grade_id IN (SELECT grade_id FROM hold_lines WHERE hold_id = ?)",
    )
    .bind(&o.hold_id)
    .bind(&o.hold_id)
    .bind(session)
    .bind(&o.hold_id)
    .execute(&mut *conn)
    .await?;
    for t in &o.tickets {
        sqlx::query(
            "INSERT INTO tickets (id, order_id, session_id, grade_id, seat_id, reference, version, status,
                                  max_entries, price_minor, credential, inspection_code, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'valid', ?, ?, ?, ?, ?)",
        )
        .bind(t.id.0)
        .bind(&o.order_id)
        .bind(session)
        .bind(t.grade_id.0)
        .bind(t.seat_id.map(|s| s.0))
        .bind(&t.reference)
        .bind(i64::from(t.version))
        .bind(i64::from(t.max_entries))
        .bind(t.price_minor)
        .bind(&t.credential)
        .bind(&t.inspection_code)
        .bind(o.now_ms)
        .execute(&mut *conn)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            true => StoreError::Conflict("a seat or ticket id in this order is already taken".into()),
            false => e.into(),
        })?;
    }
    Ok(o.order_id.clone())
}

pub async fn payment(conn: &mut SqliteConnection, id: &str) -> StoreResult<Payment> {
    let r = sqlx::query("SELECT * FROM payments WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("payment"))?;
    decode::payment(&r)
}

pub async fn payments_in_state(pool: &SqlitePool, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>> {
    let rows = sqlx::query("SELECT * FROM payments WHERE state = ? AND updated_at < ? ORDER BY updated_at LIMIT 1000")
        .bind(state.as_str())
        .bind(before_ms)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode::payment).collect()
}

pub async fn load_order(conn: &mut SqliteConnection, id: &str) -> StoreResult<Order> {
    let r = sqlx::query("SELECT o.*, s.event_id FROM orders o JOIN sessions s ON s.id = o.session_id WHERE o.id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("order"))?;
    let tickets =
        sqlx::query(&format!("{TICKET_SELECT} WHERE t.order_id = ? ORDER BY st.row_rank, st.number, t.reference"))
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(decode::ticket)
            .collect::<StoreResult<Vec<_>>>()?;
    decode::order(id, &r, tickets)
}

pub async fn ticket(pool: &SqlitePool, id: TicketId) -> StoreResult<Ticket> {
    let r = sqlx::query(&format!("{TICKET_SELECT} WHERE t.id = ?"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    decode::ticket(&r)
}
