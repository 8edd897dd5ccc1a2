//! The buyer's phone on PostgreSQL: login links, buyer sessions, ticket views, device binding
//! and inspections. The link row and the ticket row are locked (`FOR UPDATE`) before they are
//! decided on, so two nodes using one link, or binding or inspecting one ticket, take turns.

use crate::model::Ticket;
use crate::phone::*;
use crate::phone_rows::{self, BIND_SELECT, LOGIN_LINK_COLUMNS, VIEW_SELECT};
use crate::rules::{self, CHECK_IN_SELECT, decide};
use crate::{StoreError, StoreResult, decode};
use admit_domain::{DenyReason, TicketId};
use sqlx::{PgConnection, PgPool};

/// Orders the buyer session `$n` holds, for `… t.order_id IN (…)`.
fn granted(n: u8) -> String {
    format!("SELECT order_id FROM buyer_session_orders WHERE session_hash = ${n}")
}

pub async fn create_login_link(conn: &mut PgConnection, link: &NewLoginLink) -> StoreResult<()> {
    let order: Option<String> = sqlx::query_scalar("SELECT id FROM orders WHERE id = $1")
        .bind(&link.order_id)
        .fetch_optional(&mut *conn)
        .await?;
    order.ok_or(StoreError::NotFound("order"))?;
    sqlx::query("INSERT INTO login_links (token_hash, order_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(&link.token_hash[..])
        .bind(&link.order_id)
        .bind(link.now_ms)
        .bind(link.expires_at_ms)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn purge_login_links(pool: &PgPool, expired_by_ms: i64, used_by_ms: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM login_links WHERE expires_at <= $1 OR used_at <= $2")
        .bind(expired_by_ms)
        .bind(used_by_ms)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub async fn redeem_login_link(
    conn: &mut PgConnection,
    token_hash: [u8; 32],
    session_hash: [u8; 32],
    now_ms: i64,
) -> StoreResult<LoginRedemption> {
    let row = sqlx::query(&format!("SELECT {LOGIN_LINK_COLUMNS} FROM login_links WHERE token_hash = $1 FOR UPDATE"))
        .bind(&token_hash[..])
        .fetch_optional(&mut *conn)
        .await?;
    let outcome = phone_rows::redemption(row.as_ref(), now_ms)?;
    let LoginRedemption::Granted { order_id } = &outcome else { return Ok(outcome) };
    sqlx::query("UPDATE login_links SET used_at = $1 WHERE token_hash = $2")
        .bind(now_ms)
        .bind(&token_hash[..])
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO buyer_sessions (session_hash, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(&session_hash[..])
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO buyer_session_orders (session_hash, order_id, granted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&session_hash[..])
    .bind(order_id)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(outcome)
}

pub async fn buyer_tickets(pool: &PgPool, session_hash: [u8; 32]) -> StoreResult<Option<Vec<TicketView>>> {
    let known: Option<i64> = sqlx::query_scalar("SELECT created_at FROM buyer_sessions WHERE session_hash = $1")
        .bind(&session_hash[..])
        .fetch_optional(pool)
        .await?;
    if known.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query(&format!(
        "{VIEW_SELECT} WHERE t.order_id IN ({})
         ORDER BY s.starts_at, t.order_id COLLATE \"C\", st.row_rank NULLS FIRST, st.number NULLS FIRST,
                  t.reference COLLATE \"C\"",
        granted(1)
    ))
    .bind(&session_hash[..])
    .fetch_all(pool)
    .await?;
    rows.iter().map(phone_rows::view).collect::<StoreResult<Vec<_>>>().map(Some)
}

pub async fn buyer_ticket(pool: &PgPool, session_hash: [u8; 32], id: TicketId) -> StoreResult<TicketView> {
    let row = sqlx::query(&format!("{VIEW_SELECT} WHERE t.id = $1 AND t.order_id IN ({})", granted(2)))
        .bind(id.0)
        .bind(&session_hash[..])
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    phone_rows::view(&row)
}

pub async fn ticket_view(pool: &PgPool, id: TicketId) -> StoreResult<TicketView> {
    let row = sqlx::query(&format!("{VIEW_SELECT} WHERE t.id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    phone_rows::view(&row)
}

pub async fn bind_device(conn: &mut PgConnection, bind: &BindDevice) -> StoreResult<BindOutcome> {
    let row = sqlx::query(&format!("{BIND_SELECT} WHERE id = $1 FOR UPDATE"))
        .bind(bind.ticket_id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    let old = match phone_rows::decide_bind(&row, bind)? {
        Ok(old) => old,
        Err(outcome) => return Ok(outcome),
    };
    let to_version = bind.from_version + 1;
    let updated = sqlx::query(
        "UPDATE tickets SET version = $1, credential = $2, inspection_code = $3, device_algorithm = $4, device_key = $5,
                            device_bound_at = $6
         WHERE id = $7 AND version = $8",
    )
    .bind(i64::from(to_version))
    .bind(&bind.credential)
    .bind(&bind.inspection_code)
    .bind(&bind.device.algorithm)
    .bind(&bind.device.public_key)
    .bind(bind.now_ms)
    .bind(bind.ticket_id.0)
    .bind(i64::from(bind.from_version))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(StoreError::Other(format!("ticket {} changed under the writer", bind.ticket_id).into()));
    }
    sqlx::query(
        "INSERT INTO device_bindings (ticket_id, old_algorithm, old_key, new_algorithm, new_key, from_version, to_version, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(bind.ticket_id.0)
    .bind(old.as_ref().map(|k| k.algorithm.as_str()))
    .bind(old.as_ref().map(|k| k.public_key.as_slice()))
    .bind(&bind.device.algorithm)
    .bind(&bind.device.public_key)
    .bind(i64::from(bind.from_version))
    .bind(i64::from(to_version))
    .bind(bind.now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(BindOutcome::Bound { version: to_version })
}

pub async fn device_bindings(pool: &PgPool, ticket: TicketId) -> StoreResult<Vec<DeviceBindingLog>> {
    let rows = sqlx::query("SELECT * FROM device_bindings WHERE ticket_id = $1 ORDER BY id")
        .bind(ticket.0)
        .fetch_all(pool)
        .await?;
    rows.iter().map(phone_rows::binding_log).collect()
}

async fn log_inspection(
    conn: &mut PgConnection,
    req: &InspectTicket,
    version: u32,
    reason: Option<DenyReason>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO inspections (ticket_id, ticket_version, session_hash, at, verdict, reason)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(req.ticket_id.0)
    .bind(i64::from(version))
    .bind(&req.session_hash[..])
    .bind(req.now_ms)
    .bind(if reason.is_none() { "admit" } else { "deny" })
    .bind(reason.map(|r| r.code()))
    .execute(conn)
    .await?;
    Ok(())
}

async fn ticket_row(conn: &mut PgConnection, id: TicketId) -> StoreResult<Ticket> {
    let r = sqlx::query(&format!("{} WHERE t.id = $1", decode::TICKET_SELECT))
        .bind(id.0)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    decode::ticket(&r)
}

/// Decides like a gate check-in (`rules::decide`, guarded entry count) and logs the inspection.
pub async fn inspect(conn: &mut PgConnection, req: &InspectTicket) -> StoreResult<Inspected> {
    let row = sqlx::query(&format!("{CHECK_IN_SELECT} WHERE t.id = $1 FOR UPDATE OF t"))
        .bind(req.ticket_id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("ticket"))?;
    let scan = phone_rows::inspection_scan(&row, req)?;
    let mut verdict = decide(&row, &scan)?;
    if let Ok(admission) = &verdict
        && !super::checkin::take_entry(conn, req.ticket_id.0, admission).await?
    {
        verdict = Err(rules::lost_race(admission));
    }
    log_inspection(conn, req, scan.presented_version, verdict.as_ref().err().copied()).await?;
    Ok(Inspected { verdict, ticket: ticket_row(conn, req.ticket_id).await? })
}

pub async fn inspections(pool: &PgPool, ticket: TicketId) -> StoreResult<Vec<InspectionLog>> {
    let rows = sqlx::query("SELECT * FROM inspections WHERE ticket_id = $1 ORDER BY id")
        .bind(ticket.0)
        .fetch_all(pool)
        .await?;
    rows.iter().map(phone_rows::inspection_log).collect()
}
