//! Payments, orders and tickets: the step from an approved payment to issued tickets.

use super::rows::{i64_at, is_unique_violation, money_at, parsed, str_at, u32_at};
use crate::model::*;
use crate::{StoreError, StoreResult};
use admit_domain::{EventId, GradeId, HoldState, OrderState, PaymentState, SessionId, TicketId, TicketStatus};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

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
    let from: &[&str] = match to {
        PaymentState::Declined => &["pending", "timed_out"],
        PaymentState::TimedOut => &["pending"],
        // "declined" too: an approval that arrives after the attempt was given up on is refunded.
        PaymentState::Refunded => &["pending", "approved", "timed_out", "declined"],
        PaymentState::Pending | PaymentState::Approved => {
            return Err(StoreError::Invalid("use begin_payment / complete_order for that state".into()));
        }
    };
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
    let (units, seat_lines): (i64, i64) = {
        let r = sqlx::query(
            "SELECT COALESCE(SUM(quantity), 0) AS units, COUNT(seat_id) AS seats FROM hold_lines WHERE hold_id = ?",
        )
        .bind(&o.hold_id)
        .fetch_one(&mut *conn)
        .await?;
        (i64_at(&r, "units")?, i64_at(&r, "seats")?)
    };
    if units != o.tickets.len() as i64 {
        return Err(StoreError::Invalid(format!("{} tickets for a hold of {units}", o.tickets.len())));
    }
    // Each ticket must be one unit of one of the hold's lines: same grade, same seat (or none).
    let mut wanted: Vec<(i64, Option<i64>)> = Vec::new();
    for l in sqlx::query("SELECT grade_id, seat_id, quantity FROM hold_lines WHERE hold_id = ?")
        .bind(&o.hold_id)
        .fetch_all(&mut *conn)
        .await?
    {
        let line = (i64_at(&l, "grade_id")?, l.try_get::<Option<i64>, _>("seat_id")?);
        wanted.extend(std::iter::repeat_n(line, u32_at(&l, "quantity")? as usize));
    }
    let mut given: Vec<(i64, Option<i64>)> = o.tickets.iter().map(|t| (t.grade_id.0, t.seat_id.map(|s| s.0))).collect();
    wanted.sort_unstable();
    given.sort_unstable();
    if wanted != given {
        return Err(StoreError::Invalid("the tickets do not match the hold's seats and grades".into()));
    }
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
    if sold as i64 != seat_lines {
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

fn payment_row(r: &SqliteRow) -> StoreResult<Payment> {
    Ok(Payment {
        id: str_at(r, "id")?,
        hold_id: str_at(r, "hold_id")?,
        gateway: str_at(r, "gateway")?,
        amount: money_at(r, "amount_minor", "currency")?,
        method: str_at(r, "method")?,
        state: parsed(r, "state", PaymentState::parse)?,
        detail: r.try_get("detail")?,
        authorization: r.try_get("authorization")?,
        created_at_ms: i64_at(r, "created_at")?,
        updated_at_ms: i64_at(r, "updated_at")?,
    })
}

pub async fn payment(conn: &mut SqliteConnection, id: &str) -> StoreResult<Payment> {
    let r = sqlx::query("SELECT * FROM payments WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("payment"))?;
    payment_row(&r)
}

pub async fn payments_in_state(pool: &SqlitePool, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>> {
    let rows = sqlx::query("SELECT * FROM payments WHERE state = ? AND updated_at < ? ORDER BY updated_at LIMIT 1000")
        .bind(state.as_str())
        .bind(before_ms)
        .fetch_all(pool)
        .await?;
    rows.iter().map(payment_row).collect()
}

const TICKET_SELECT: &str = "SELECT t.*, g.code AS grade_code, st.label AS seat_label, s.event_id, o.currency
     FROM tickets t JOIN grades g ON g.id = t.grade_id LEFT JOIN seats st ON st.id = t.seat_id
     JOIN sessions s ON s.id = t.session_id JOIN orders o ON o.id = t.order_id";

fn ticket_row(r: &SqliteRow) -> StoreResult<Ticket> {
    Ok(Ticket {
        id: TicketId(i64_at(r, "id")?),
        order_id: str_at(r, "order_id")?,
        session_id: SessionId(i64_at(r, "session_id")?),
        event_id: EventId(i64_at(r, "event_id")?),
        grade_id: GradeId(i64_at(r, "grade_id")?),
        grade_code: str_at(r, "grade_code")?,
        seat_label: r.try_get("seat_label")?,
        reference: str_at(r, "reference")?,
        version: u32_at(r, "version")?,
        status: parsed(r, "status", TicketStatus::parse)?,
        entries_used: u32_at(r, "entries_used")?,
        max_entries: u32_at(r, "max_entries")?,
        credential: str_at(r, "credential")?,
        inspection_code: str_at(r, "inspection_code")?,
        price: money_at(r, "price_minor", "currency")?,
    })
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
            .map(ticket_row)
            .collect::<StoreResult<Vec<_>>>()?;
    Ok(Order {
        id: id.to_owned(),
        hold_id: str_at(&r, "hold_id")?,
        payment_id: str_at(&r, "payment_id")?,
        session_id: SessionId(i64_at(&r, "session_id")?),
        event_id: EventId(i64_at(&r, "event_id")?),
        state: parsed(&r, "state", OrderState::parse)?,
        total: money_at(&r, "total_minor", "currency")?,
        created_at_ms: i64_at(&r, "created_at")?,
        tickets,
    })
}

pub async fn ticket(pool: &SqlitePool, id: TicketId) -> StoreResult<Ticket> {
    let r = sqlx::query(&format!("{TICKET_SELECT} WHERE t.id = ?"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    ticket_row(&r)
}
