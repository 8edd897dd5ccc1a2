//! Payments, orders and tickets: the step from an approved payment to issued tickets.
//!
//! Every path that decides on a hold locks its row first (`FOR UPDATE`), then the payment's,
//! so a payment, a cancel and an expiry of one hold on different nodes run one after another.

use super::shards;
use crate::decode::{self, TICKET_SELECT};
use crate::model::*;
use crate::rows::{i64_at, is_unique_violation, money_at, parsed, str_at};
use crate::rules::{check_tickets_match, settle_from};
use crate::{StoreError, StoreResult};
use admit_domain::{HoldState, PaymentState, TicketId};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;

pub async fn begin_payment(conn: &mut PgConnection, p: &NewPayment) -> StoreResult<()> {
    let h = sqlx::query("SELECT state, expires_at, total_minor, currency FROM holds WHERE id = $1 FOR UPDATE")
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
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)",
    )
    .bind(&p.id)
    .bind(&p.hold_id)
    .bind(&p.gateway)
    .bind(p.amount.minor)
    .bind(p.amount.currency.code())
    .bind(&p.method)
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
    conn: &mut PgConnection,
    id: &str,
    to: PaymentState,
    detail: Option<&str>,
    now_ms: i64,
) -> StoreResult<()> {
    let from = settle_from(to)?;
    let current = sqlx::query("SELECT state FROM payments WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("payment"))?;
    if to == PaymentState::Refunded {
        let has_order: Option<String> = sqlx::query_scalar("SELECT id FROM orders WHERE payment_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if has_order.is_some() {
            return Err(StoreError::Conflict("the payment paid for an order; refund the order instead".into()));
        }
    }
    let current = parsed(&current, "state", PaymentState::parse)?;
    if from.contains(&current.as_str()) {
        sqlx::query("UPDATE payments SET state = $1, detail = $2, updated_at = $3 WHERE id = $4")
            .bind(to.as_str())
            .bind(detail)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    } else if current != to {
        return Err(StoreError::Conflict(format!("payment is {}", current.as_str())));
    }
    Ok(())
}

pub async fn complete(conn: &mut PgConnection, o: &CompleteOrder) -> StoreResult<String> {
    // The hold first: a second completion of the same payment waits here, then finds the order.
    let h =
        sqlx::query("SELECT session_id, state, expires_at, total_minor, currency FROM holds WHERE id = $1 FOR UPDATE")
            .bind(&o.hold_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(existing) = sqlx::query_scalar::<_, String>("SELECT id FROM orders WHERE payment_id = $1")
        .bind(&o.payment_id)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(existing);
    }
    let p = sqlx::query("SELECT hold_id, state FROM payments WHERE id = $1 FOR UPDATE")
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
    let h = h.ok_or(StoreError::NotFound("hold"))?;
    let state = parsed(&h, "state", HoldState::parse)?.effective(i64_at(&h, "expires_at")?, o.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    let session = i64_at(&h, "session_id")?;
    let lines = sqlx::query("SELECT grade_id, seat_id, quantity FROM hold_lines WHERE hold_id = $1")
        .bind(&o.hold_id)
        .fetch_all(&mut *conn)
        .await?;
    let seat_lines = check_tickets_match(&lines, &o.tickets)?;
    sqlx::query("UPDATE payments SET state = 'approved', \"authorization\" = $1, updated_at = $2 WHERE id = $3")
        .bind(&o.authorization)
        .bind(o.now_ms)
        .bind(&o.payment_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO orders (id, hold_id, payment_id, session_id, state, total_minor, currency, created_at)
         VALUES ($1, $2, $3, $4, 'paid', $5, $6, $7)",
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
    sqlx::query("UPDATE holds SET state = 'converted' WHERE id = $1").bind(&o.hold_id).execute(&mut *conn).await?;
    let sold = sqlx::query(
        "UPDATE seats SET state = 'sold'
         WHERE id IN (SELECT seat_id FROM hold_lines WHERE hold_id = $1) AND hold_id = $1 AND state = 'held'",
    )
    .bind(&o.hold_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if sold != seat_lines {
        return Err(StoreError::Other(format!("hold {} had {seat_lines} seats, {sold} were held", o.hold_id).into()));
    }
    // Counters last, grades ascending: the lock order of every writer, and the shortest time
    // holding a shard row (see shards.rs).
    let mut per_grade: BTreeMap<i64, i64> = BTreeMap::new();
    for l in &lines {
        *per_grade.entry(i64_at(l, "grade_id")?).or_default() += i64_at(l, "quantity")?;
    }
    insert_tickets(conn, o, session).await?;
    for (grade, n) in per_grade {
        shards::sell(conn, session, grade, n).await?;
    }
    Ok(o.order_id.clone())
}

/// All of an order's tickets in one statement.
async fn insert_tickets(conn: &mut PgConnection, o: &CompleteOrder, session: i64) -> StoreResult<()> {
    let t = &o.tickets;
    let ints = |f: fn(&NewTicket) -> i64| t.iter().map(f).collect::<Vec<_>>();
    let texts = |f: fn(&NewTicket) -> &str| t.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO tickets (id, order_id, session_id, grade_id, seat_id, reference, version, status,
                              max_entries, price_minor, credential, inspection_code, created_at)
         SELECT t.id, $1, $2, t.grade_id, t.seat_id, t.reference, t.version, 'valid',
                t.max_entries, t.price_minor, t.credential, t.inspection_code, $3
         FROM UNNEST($4::BIGINT[], $5::BIGINT[], $6::BIGINT[], $7::TEXT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[],
                     $11::TEXT[], $12::TEXT[])
              AS t (id, grade_id, seat_id, reference, version, max_entries, price_minor, credential, inspection_code)",
    )
    .bind(&o.order_id)
    .bind(session)
    .bind(o.now_ms)
    .bind(ints(|t| t.id.0))
    .bind(ints(|t| t.grade_id.0))
    .bind(t.iter().map(|t| t.seat_id.map(|s| s.0)).collect::<Vec<_>>())
    .bind(texts(|t| &t.reference))
    .bind(ints(|t| i64::from(t.version)))
    .bind(ints(|t| i64::from(t.max_entries)))
    .bind(ints(|t| t.price_minor))
    .bind(texts(|t| &t.credential))
    .bind(texts(|t| &t.inspection_code))
    .execute(&mut *conn)
    .await
    .map_err(|e| match is_unique_violation(&e) {
        true => StoreError::Conflict("a seat or ticket id in this order is already taken".into()),
        false => e.into(),
    })?;
    Ok(())
}

pub async fn payment(pool: &PgPool, id: &str) -> StoreResult<Payment> {
    let r = sqlx::query("SELECT * FROM payments WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("payment"))?;
    decode::payment(&r)
}

pub async fn payments_in_state(pool: &PgPool, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>> {
    let rows =
        sqlx::query("SELECT * FROM payments WHERE state = $1 AND updated_at < $2 ORDER BY updated_at LIMIT 1000")
            .bind(state.as_str())
            .bind(before_ms)
            .fetch_all(pool)
            .await?;
    rows.iter().map(decode::payment).collect()
}

pub async fn load_order(conn: &mut PgConnection, id: &str) -> StoreResult<Order> {
    let r = sqlx::query("SELECT o.*, s.event_id FROM orders o JOIN sessions s ON s.id = o.session_id WHERE o.id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("order"))?;
    let tickets = sqlx::query(&format!(
        "{TICKET_SELECT} WHERE t.order_id = $1 ORDER BY st.row_rank NULLS FIRST, st.number NULLS FIRST, t.reference COLLATE \"C\""
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(decode::ticket)
    .collect::<StoreResult<Vec<_>>>()?;
    decode::order(id, &r, tickets)
}

pub async fn ticket(pool: &PgPool, id: TicketId) -> StoreResult<Ticket> {
    let r = sqlx::query(&format!("{TICKET_SELECT} WHERE t.id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    decode::ticket(&r)
}
