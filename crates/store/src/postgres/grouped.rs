//! The on-sale's hot paths in groups (`group_commit.rs`): general-admission holds, payment
//! starts and order completions, many per statement and commit (migration 0010).
//!
//! A group changes how requests are written, never what they mean. A group of one takes the
//! one-item path (holds.rs, orders.rs). In a larger group, each request the set-based
//! statement cannot settle on its own terms (a refusal whose reason the one-item path knows,
//! a second request for the same hold) runs alone afterwards, with nothing written for it;
//! and when the group's transaction fails as a whole (a taken id, a deadlock after every
//! retry), every request of it runs alone, so one bad request never fails its neighbours.

use super::retry::{retrying, statement};
use super::{holds, orders, shards};
use crate::decode;
use crate::model::*;
use crate::rows::{Columns, str_at};
use crate::{StoreError, StoreResult};
use admit_domain::GradeId;
use sqlx::{PgPool, Row};
use std::collections::HashSet;

/// A general-admission hold request: the hold, its grade and how many units.
pub struct UnitsHold {
    pub hold: NewHold,
    pub grade: GradeId,
    pub quantity: u32,
}

/// Holds units for each request, answering each with its hold or its error.
pub async fn hold_units(pool: &PgPool, requests: Vec<UnitsHold>) -> Vec<StoreResult<Hold>> {
    if requests.len() == 1 {
        return vec![hold_alone(pool, &requests[0].hold).await];
    }
    let outcomes = retrying!("group of holds", hold_units_group(pool, &requests));
    let mut answers = Vec::with_capacity(requests.len());
    match outcomes {
        Ok(outcomes) => {
            for (request, outcome) in requests.iter().zip(outcomes) {
                answers.push(match outcome {
                    Some(answer) => answer,
                    None => hold_alone(pool, &request.hold).await,
                });
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, requests = requests.len(), "a group of holds failed; holding one by one");
            for request in &requests {
                answers.push(hold_alone(pool, &request.hold).await);
            }
        }
    }
    answers
}

pub(super) async fn hold_alone(pool: &PgPool, hold: &NewHold) -> StoreResult<Hold> {
    let mut conn = pool.acquire().await?;
    holds::create(&mut conn, hold).await
}

/// One call of `admit_hold_units_group`: per request, its hold, or `None` (to run alone).
async fn hold_units_group(pool: &PgPool, requests: &[UnitsHold]) -> StoreResult<Vec<Option<StoreResult<Hold>>>> {
    let h = |f: fn(&UnitsHold) -> i64| requests.iter().map(f).collect::<Vec<_>>();
    // Named as `decode::hold` reads them: each row is one hold and its only line.
    let rows = sqlx::query(
        "SELECT u.o_item AS item, u.o_status AS status, u.o_event_id AS event_id, u.o_currency AS currency,
                u.o_code AS code, u.o_max_entries AS max_entries, u.o_reentry AS reentry, u.o_multi_day AS multi_day,
                u.o_price AS unit_price_minor, u.o_price * r.quantity AS total_minor, 'active' AS state,
                NULL::TEXT AS order_id, NULL::BIGINT AS seat_id, NULL::TEXT AS seat_label,
                r.session_id, r.grade_id, r.quantity, r.created_at, r.expires_at
         FROM admit_hold_units_group($1, $2, $3, $4, $5, $6, $7) AS u
         JOIN UNNEST($2, $3, $4, $5, $6) WITH ORDINALITY AS r (session_id, grade_id, quantity, created_at, expires_at, item)
           ON r.item = u.o_item
         ORDER BY u.o_item",
    )
    .bind(requests.iter().map(|r| r.hold.id.as_str()).collect::<Vec<_>>())
    .bind(h(|r| r.hold.session_id.0))
    .bind(h(|r| r.grade.0))
    .bind(h(|r| i64::from(r.quantity)))
    .bind(h(|r| r.hold.now_ms))
    .bind(h(|r| r.hold.expires_at_ms))
    .bind(shards::start())
    .fetch_all(pool)
    .await?;
    if rows.len() != requests.len() {
        return Err(StoreError::Other(format!("{} answers for {} holds", rows.len(), requests.len()).into()));
    }
    requests
        .iter()
        .zip(&rows)
        .map(|(request, row)| {
            Ok(match str_at(row, "status")?.as_str() {
                "created" => Some(decode::hold(&request.hold.id, row, std::slice::from_ref(row))),
                _ => None,
            })
        })
        .collect()
}

/// Reads each hold (`hold`, many at a time): the step before paying, once per order.
pub async fn read_holds(pool: &PgPool, ids: Vec<String>) -> Vec<StoreResult<Hold>> {
    if ids.len() > 1 {
        let found = async {
            let mut conn = pool.acquire().await?;
            holds::load_many(&mut conn, &ids).await
        };
        match found.await {
            Ok(found) => {
                // The same hold may be asked for twice in one group.
                return ids.iter().map(|id| found.get(id).cloned().ok_or(StoreError::NotFound("hold"))).collect();
            }
            Err(e) => tracing::debug!(error = %e, requests = ids.len(), "reading a group of holds failed; one by one"),
        }
    }
    let mut answers = Vec::with_capacity(ids.len());
    for id in &ids {
        answers.push(read_alone(pool, id).await);
    }
    answers
}

pub(super) async fn read_alone(pool: &PgPool, id: &str) -> StoreResult<Hold> {
    let mut conn = pool.acquire().await?;
    holds::load(&mut conn, id).await
}

/// Records a pending payment for each request (`begin_payment`, many at a time).
pub async fn begin_payments(pool: &PgPool, requests: Vec<NewPayment>) -> Vec<StoreResult<()>> {
    if requests.len() == 1 {
        return vec![begin_payment_alone(pool, &requests[0]).await];
    }
    let created = retrying!("group of payments", begin_payments_group(pool, &requests));
    let mut answers = Vec::with_capacity(requests.len());
    match created {
        Ok(created) => {
            for (request, created) in requests.iter().zip(created) {
                answers.push(match created {
                    true => Ok(()),
                    // Refused, or a second payment for the same hold: the one-item path says why.
                    false => begin_payment_alone(pool, request).await,
                });
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, requests = requests.len(), "a group of payments failed; one by one");
            for request in &requests {
                answers.push(begin_payment_alone(pool, request).await);
            }
        }
    }
    answers
}

async fn begin_payment_alone(pool: &PgPool, payment: &NewPayment) -> StoreResult<()> {
    let mut conn = pool.acquire().await?;
    statement!(&mut conn, |conn| orders::begin_payment(conn, payment).await?)
}

/// One call of `admit_begin_payments`: per request, whether its payment was recorded.
async fn begin_payments_group(pool: &PgPool, requests: &[NewPayment]) -> StoreResult<Vec<bool>> {
    let text = |f: fn(&NewPayment) -> &str| requests.iter().map(f).collect::<Vec<_>>();
    let ints = |f: fn(&NewPayment) -> i64| requests.iter().map(f).collect::<Vec<_>>();
    let rows = sqlx::query("SELECT o_created AS created FROM admit_begin_payments($1, $2, $3, $4, $5, $6, $7)")
        .bind(text(|p| &p.id))
        .bind(text(|p| &p.hold_id))
        .bind(text(|p| &p.gateway))
        .bind(ints(|p| p.amount.minor()))
        .bind(requests.iter().map(|p| p.amount.currency().code().to_owned()).collect::<Vec<_>>())
        .bind(text(|p| &p.method))
        .bind(ints(|p| p.now_ms))
        .fetch_all(pool)
        .await?;
    if rows.len() != requests.len() {
        return Err(StoreError::Other(format!("{} answers for {} payments", rows.len(), requests.len()).into()));
    }
    rows.iter().map(|r| r.bool_col("created")).collect()
}

/// Completes each order (`complete_order`, many at a time), answering each with its order.
pub async fn complete_orders(pool: &PgPool, requests: Vec<CompleteOrder>) -> Vec<StoreResult<Order>> {
    if requests.len() == 1 {
        return vec![complete_alone(pool, &requests[0]).await];
    }
    // A second completion of a hold in the same group runs alone, after the group.
    let mut holds = HashSet::new();
    let (first, again): (Vec<usize>, Vec<usize>) =
        (0..requests.len()).partition(|&i| holds.insert(&requests[i].hold_id));
    let group: Vec<&CompleteOrder> = first.iter().map(|&i| &requests[i]).collect();
    let mut answers: Vec<Option<StoreResult<Order>>> = (0..requests.len()).map(|_| None).collect();
    match retrying!("group of orders", complete_group(pool, &group)) {
        Ok(outcomes) => {
            for (&i, outcome) in first.iter().zip(outcomes) {
                answers[i] = outcome.map(Ok);
            }
        }
        Err(e) => tracing::debug!(error = %e, requests = group.len(), "a group of orders failed; one by one"),
    }
    for i in first.into_iter().chain(again) {
        if answers[i].is_none() {
            answers[i] = Some(complete_alone(pool, &requests[i]).await);
        }
    }
    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(StoreError::Other("an order was not answered".into()))))
        .collect()
}

async fn complete_alone(pool: &PgPool, order: &CompleteOrder) -> StoreResult<Order> {
    let mut conn = pool.acquire().await?;
    let id = statement!(&mut conn, |conn| orders::complete(conn, order).await?)?;
    orders::load_order(&mut conn, &id).await
}

/// One call of `admit_complete_orders`, then one query for the orders: per request, its
/// order, or `None` (to run alone).
async fn complete_group(pool: &PgPool, requests: &[&CompleteOrder]) -> StoreResult<Vec<Option<Order>>> {
    let text = |f: fn(&CompleteOrder) -> &str| requests.iter().map(|o| f(o)).collect::<Vec<_>>();
    let tickets = || requests.iter().flat_map(|o| &o.tickets);
    let t_ints = |f: fn(&NewTicket) -> i64| tickets().map(f).collect::<Vec<_>>();
    let t_text = |f: fn(&NewTicket) -> &str| tickets().map(f).collect::<Vec<_>>();
    let mut first = Vec::with_capacity(requests.len());
    let mut next = 1i32;
    for o in requests {
        first.push(next);
        next += o.tickets.len() as i32;
    }
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query(
        "SELECT o_item, o_order, o_refusal
         FROM admit_complete_orders($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ORDER BY o_item",
    )
    .bind(text(|o| &o.order_id))
    .bind(text(|o| &o.hold_id))
    .bind(text(|o| &o.payment_id))
    .bind(text(|o| &o.authorization))
    .bind(requests.iter().map(|o| o.now_ms).collect::<Vec<_>>())
    .bind(requests.iter().map(|o| o.login_link.as_ref().map(|l| l.token_hash.to_vec())).collect::<Vec<_>>())
    .bind(requests.iter().map(|o| o.login_link.as_ref().map(|l| l.expires_at_ms)).collect::<Vec<_>>())
    .bind(first)
    .bind(requests.iter().map(|o| o.tickets.len() as i32).collect::<Vec<_>>())
    .bind(shards::start())
    .bind(t_ints(|t| t.id.0))
    .bind(t_ints(|t| t.grade_id.0))
    .bind(tickets().map(|t| t.seat_id.map(|s| s.0)).collect::<Vec<_>>())
    .bind(t_text(|t| &t.reference))
    .bind(t_ints(|t| i64::from(t.version)))
    .bind(t_ints(|t| i64::from(t.max_entries)))
    .bind(t_ints(|t| t.price_minor))
    .bind(t_text(|t| &t.credential))
    .bind(t_text(|t| &t.inspection_code))
    .fetch_all(&mut *conn)
    .await?;
    if rows.len() != requests.len() {
        return Err(StoreError::Other(format!("{} answers for {} orders", rows.len(), requests.len()).into()));
    }
    let made: Vec<Option<String>> =
        rows.iter().map(|r| r.try_get::<Option<String>, _>("o_order")).collect::<Result<_, _>>()?;
    let ids: Vec<String> = made.iter().flatten().cloned().collect();
    let mut loaded = orders::load_orders(&mut conn, &ids).await?;
    Ok(made.into_iter().map(|id| id.and_then(|id| loaded.remove(&id))).collect())
}
