//! Payments, orders and tickets: the step from an approved payment to issued tickets.
//!
//! Every path that decides on a hold locks its row first (`FOR UPDATE`), then the payment's,
//! so a payment, a cancel and an expiry of one hold on different nodes run one after another.
//! Beginning a payment and completing an order are one statement each (a CTE, and the
//! `admit_complete_order` function of migration 0009): one round trip, no BEGIN/COMMIT.

use super::shards;
use crate::decode::{self, TICKET_SELECT};
use crate::model::*;
use crate::rows::{Columns, i64_at, is_unique_violation, money_at, parsed, str_at};
use crate::rules::settle_from;
use crate::{StoreError, StoreResult};
use admit_domain::{HoldState, PaymentState, TicketId};
use sqlx::{PgConnection, PgPool, Row};
use std::collections::HashMap;

/// Records a pending payment for an active hold of the same amount, in one statement: the
/// hold row is locked (`FOR UPDATE`) and read, and the payment inserted only if it passes;
/// the row read says why not.
pub async fn begin_payment(conn: &mut PgConnection, p: &NewPayment) -> StoreResult<()> {
    let h = sqlx::query(
        "WITH h AS (SELECT state, expires_at, total_minor, currency FROM holds WHERE id = $2 FOR UPDATE),
              p AS (INSERT INTO payments (id, hold_id, gateway, amount_minor, currency, method, state, created_at, updated_at)
                    SELECT $1, $2, $3, $4, $5, $6, 'pending', $7, $7 FROM h
                    WHERE h.state = 'active' AND $7 < h.expires_at AND h.total_minor = $4 AND h.currency = $5
                    RETURNING 1)
         SELECT h.*, EXISTS (SELECT 1 FROM p) AS created FROM h",
    )
    .bind(&p.id)
    .bind(&p.hold_id)
    .bind(&p.gateway)
    .bind(p.amount.minor())
    .bind(p.amount.currency().code())
    .bind(&p.method)
    .bind(p.now_ms)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match is_unique_violation(&e) {
        true => StoreError::Conflict("another payment for this hold is in progress".into()),
        false => e.into(),
    })?
    .ok_or(StoreError::NotFound("hold"))?;
    if h.try_get::<bool, _>("created")? {
        return Ok(());
    }
    let state = parsed(&h, "state", HoldState::parse)?.effective(i64_at(&h, "expires_at")?, p.now_ms);
    if state != HoldState::Active {
        return Err(StoreError::HoldNotActive(state));
    }
    if money_at(&h, "total_minor", "currency")? != p.amount {
        return Err(StoreError::Invalid("the amount differs from the hold's total".into()));
    }
    Err(StoreError::Other(format!("payment for hold {} refused for no known reason", p.hold_id).into()))
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

/// Turns the hold and its pending payment into a paid order with its tickets (and the
/// confirmation's login link), in one statement: `admit_complete_order` (migration 0009) locks
/// the hold, then the payment, then sells the seats and counts the units (grades ascending).
/// A second completion of the same payment returns the order the first one made.
pub async fn complete(conn: &mut PgConnection, o: &CompleteOrder) -> StoreResult<String> {
    let t = &o.tickets;
    let ints = |f: fn(&NewTicket) -> i64| t.iter().map(f).collect::<Vec<_>>();
    let texts = |f: fn(&NewTicket) -> &str| t.iter().map(f).collect::<Vec<_>>();
    let link = o.login_link.as_ref();
    let r = sqlx::query(
        "SELECT o_order, o_refusal, o_detail
         FROM admit_complete_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&o.order_id)
    .bind(&o.hold_id)
    .bind(&o.payment_id)
    .bind(&o.authorization)
    .bind(o.now_ms)
    .bind(shards::start())
    .bind(ints(|t| t.id.0))
    .bind(ints(|t| t.grade_id.0))
    .bind(t.iter().map(|t| t.seat_id.map(|s| s.0)).collect::<Vec<_>>())
    .bind(texts(|t| &t.reference))
    .bind(ints(|t| i64::from(t.version)))
    .bind(ints(|t| i64::from(t.max_entries)))
    .bind(ints(|t| t.price_minor))
    .bind(texts(|t| &t.credential))
    .bind(texts(|t| &t.inspection_code))
    .bind(link.map(|l| l.token_hash.to_vec()))
    .bind(link.map(|l| l.expires_at_ms))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match e.as_database_error().and_then(|d| d.table()) {
        Some("tickets") if is_unique_violation(&e) => {
            StoreError::Conflict("a seat or ticket id in this order is already taken".into())
        }
        _ => e.into(),
    })?;
    if let Some(id) = r.opt_str_col("o_order")? {
        return Ok(id);
    }
    let detail = r.opt_str_col("o_detail")?.unwrap_or_default();
    Err(match str_at(&r, "o_refusal")?.as_str() {
        "payment_not_found" => StoreError::NotFound("payment"),
        "payment_other_hold" => StoreError::Invalid("the payment belongs to another hold".into()),
        "payment_state" => StoreError::Conflict(format!("payment is {detail}")),
        "hold_not_found" => StoreError::NotFound("hold"),
        "hold_state" => StoreError::HoldNotActive(
            HoldState::parse(&detail).ok_or_else(|| StoreError::Other(format!("hold state {detail}").into()))?,
        ),
        "ticket_count" => StoreError::Invalid(format!("{} tickets for a hold of {detail}", t.len())),
        "ticket_mismatch" => StoreError::Invalid("the tickets do not match the hold's seats and grades".into()),
        other => StoreError::Other(format!("completing order {} refused: {other}", o.order_id).into()),
    })
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

/// The order and its tickets in one query.
pub async fn load_order(conn: &mut PgConnection, id: &str) -> StoreResult<Order> {
    load_orders(conn, &[id.to_owned()]).await?.remove(id).ok_or(StoreError::NotFound("order"))
}

/// Orders and their tickets in one query, by id (ids not found are left out): each order
/// row joined with each of its tickets (a ticket always has its order's session, event and
/// currency). Each order and its tickets are looked up by index, one order at a time
/// (`LATERAL … OFFSET 0`): a plan that joins whole tables, which the planner picks while
/// they are small, would keep reading them whole as they grow.
pub async fn load_orders(conn: &mut PgConnection, ids: &[String]) -> StoreResult<HashMap<String, Order>> {
    let rows = sqlx::query(
        "SELECT o.id AS the_order, o.hold_id, o.payment_id, o.session_id, o.event_id, o.state, o.total_minor,
                o.currency, o.created_at,
                t.id, t.order_id, t.grade_id, t.grade_code, t.reentry, t.multi_day, t.seat_label, t.reference,
                t.version, t.status, t.entries_used, t.max_entries, t.inside, t.session_entries, t.credential,
                t.inspection_code, t.price_minor
         FROM UNNEST($1::TEXT[]) AS wanted (id)
         CROSS JOIN LATERAL (
             SELECT o.*, s.event_id FROM orders o JOIN sessions s ON s.id = o.session_id WHERE o.id = wanted.id
             OFFSET 0) AS o
         LEFT JOIN LATERAL (
             SELECT t.*, g.code AS grade_code, g.reentry, g.multi_day, st.label AS seat_label, st.row_rank, st.number
             FROM tickets t JOIN grades g ON g.id = t.grade_id LEFT JOIN seats st ON st.id = t.seat_id
             WHERE t.order_id = o.id
             OFFSET 0) AS t ON true
         ORDER BY o.id, t.row_rank NULLS FIRST, t.number NULLS FIRST, t.reference COLLATE \"C\"",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut orders = HashMap::with_capacity(ids.len());
    for same in rows.chunk_by(|a, b| a.try_get::<&str, _>("the_order").ok() == b.try_get::<&str, _>("the_order").ok()) {
        let first = &same[0];
        // An order without tickets comes back as one row whose ticket columns are all NULL.
        let tickets = match first.opt_i64_col("id")? {
            Some(_) => same.iter().map(decode::ticket).collect::<StoreResult<Vec<_>>>()?,
            None => Vec::new(),
        };
        let id = str_at(first, "the_order")?;
        let order = decode::order(&id, first, tickets)?;
        orders.insert(id, order);
    }
    Ok(orders)
}

pub async fn ticket(pool: &PgPool, id: TicketId) -> StoreResult<Ticket> {
    let r = sqlx::query(&format!("{TICKET_SELECT} WHERE t.id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    decode::ticket(&r)
}
