//! The buyer's phone on SQLite: login links, buyer sessions, ticket views, device binding and
//! inspections. Writes run inside the group-commit writer's transaction (one savepoint each).

use super::sql::{exec, row, rows, scalar};
use crate::model::Ticket;
use crate::phone::*;
use crate::phone_rows::{self, BIND_SELECT, LOGIN_LINK_COLUMNS, VIEW_SELECT};
use crate::rules::{CHECK_IN_SELECT, decide, lost_race};
use crate::{StoreError, StoreResult, decode};
use admit_domain::{DenyReason, TicketId};
use rusqlite::{Connection, params};

/// Orders a buyer session holds, for `… t.order_id IN (…)`.
const GRANTED: &str = "SELECT order_id FROM buyer_session_orders WHERE session_hash = ?";

pub fn create_login_link(c: &Connection, link: &NewLoginLink) -> StoreResult<()> {
    let order: Option<String> = scalar(c, "SELECT id FROM orders WHERE id = ?", [&link.order_id])?;
    order.ok_or(StoreError::NotFound("order"))?;
    exec(
        c,
        "INSERT INTO login_links (token_hash, order_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        params![&link.token_hash[..], link.order_id, link.now_ms, link.expires_at_ms],
    )?;
    Ok(())
}

pub fn purge_login_links(c: &Connection, expired_by_ms: i64, used_by_ms: i64) -> StoreResult<u64> {
    let deleted =
        exec(c, "DELETE FROM login_links WHERE expires_at <= ? OR used_at <= ?", params![expired_by_ms, used_by_ms])?;
    Ok(deleted as u64)
}

pub fn redeem_login_link(
    c: &Connection,
    token_hash: [u8; 32],
    session_hash: [u8; 32],
    now_ms: i64,
) -> StoreResult<LoginRedemption> {
    let found =
        row(c, &format!("SELECT {LOGIN_LINK_COLUMNS} FROM login_links WHERE token_hash = ?"), [&token_hash[..]])?;
    let outcome = phone_rows::redemption(found.as_ref(), now_ms)?;
    let LoginRedemption::Granted { order_id } = &outcome else { return Ok(outcome) };
    exec(c, "UPDATE login_links SET used_at = ? WHERE token_hash = ?", params![now_ms, &token_hash[..]])?;
    exec(
        c,
        "INSERT INTO buyer_sessions (session_hash, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        params![&session_hash[..], now_ms],
    )?;
    exec(
        c,
        "INSERT INTO buyer_session_orders (session_hash, order_id, granted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        params![&session_hash[..], order_id, now_ms],
    )?;
    Ok(outcome)
}

pub fn buyer_tickets(c: &Connection, session_hash: [u8; 32]) -> StoreResult<Option<Vec<TicketView>>> {
    let known: Option<i64> =
        scalar(c, "SELECT created_at FROM buyer_sessions WHERE session_hash = ?", [&session_hash[..]])?;
    if known.is_none() {
        return Ok(None);
    }
    rows(
        c,
        &format!(
            "{VIEW_SELECT} WHERE t.order_id IN ({GRANTED}) ORDER BY s.starts_at, t.order_id, st.row_rank, st.number, t.reference"
        ),
        [&session_hash[..]],
    )?
    .iter()
    .map(phone_rows::view)
    .collect::<StoreResult<Vec<_>>>()
    .map(Some)
}

pub fn buyer_ticket(c: &Connection, session_hash: [u8; 32], id: TicketId) -> StoreResult<TicketView> {
    let r = row(
        c,
        &format!("{VIEW_SELECT} WHERE t.id = ? AND t.order_id IN ({GRANTED})"),
        params![id.0, &session_hash[..]],
    )?
    .ok_or(StoreError::NotFound("ticket"))?;
    phone_rows::view(&r)
}

pub fn ticket_view(c: &Connection, id: TicketId) -> StoreResult<TicketView> {
    let r = row(c, &format!("{VIEW_SELECT} WHERE t.id = ?"), [id.0])?.ok_or(StoreError::NotFound("ticket"))?;
    phone_rows::view(&r)
}

pub fn bind_device(c: &Connection, bind: &BindDevice) -> StoreResult<BindOutcome> {
    let r =
        row(c, &format!("{BIND_SELECT} WHERE id = ?"), [bind.ticket_id.0])?.ok_or(StoreError::NotFound("ticket"))?;
    let old = match phone_rows::decide_bind(&r, bind)? {
        Ok(old) => old,
        Err(outcome) => return Ok(outcome),
    };
    let to_version = bind.from_version + 1;
    let updated = exec(
        c,
        "UPDATE tickets SET version = ?, credential = ?, inspection_code = ?, device_algorithm = ?, device_key = ?,
                            device_bound_at = ?
         WHERE id = ? AND version = ?",
        params![
            i64::from(to_version),
            bind.credential,
            bind.inspection_code,
            bind.device.algorithm,
            bind.device.public_key,
            bind.now_ms,
            bind.ticket_id.0,
            i64::from(bind.from_version)
        ],
    )?;
    if updated != 1 {
        return Err(StoreError::Other(format!("ticket {} changed under the writer", bind.ticket_id).into()));
    }
    exec(
        c,
        "INSERT INTO device_bindings (ticket_id, old_algorithm, old_key, new_algorithm, new_key, from_version, to_version, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            bind.ticket_id.0,
            old.as_ref().map(|k| k.algorithm.as_str()),
            old.as_ref().map(|k| k.public_key.as_slice()),
            bind.device.algorithm,
            bind.device.public_key,
            i64::from(bind.from_version),
            i64::from(to_version),
            bind.now_ms
        ],
    )?;
    Ok(BindOutcome::Bound { version: to_version })
}

pub fn device_bindings(c: &Connection, ticket: TicketId) -> StoreResult<Vec<DeviceBindingLog>> {
    rows(c, "SELECT * FROM device_bindings WHERE ticket_id = ? ORDER BY id", [ticket.0])?
        .iter()
        .map(phone_rows::binding_log)
        .collect()
}

fn log_inspection(c: &Connection, req: &InspectTicket, version: u32, reason: Option<DenyReason>) -> StoreResult<()> {
    exec(
        c,
        "INSERT INTO inspections (ticket_id, ticket_version, session_hash, at, verdict, reason) VALUES (?, ?, ?, ?, ?, ?)",
        params![
            req.ticket_id.0,
            i64::from(version),
            &req.session_hash[..],
            req.now_ms,
            if reason.is_none() { "admit" } else { "deny" },
            reason.map(|r| r.code())
        ],
    )?;
    Ok(())
}

fn ticket_row(c: &Connection, id: TicketId) -> StoreResult<Ticket> {
    let r =
        row(c, &format!("{} WHERE t.id = ?", decode::TICKET_SELECT), [id.0])?.ok_or(StoreError::NotFound("ticket"))?;
    decode::ticket(&r)
}

/// Decides like a gate check-in (`rules::decide`, guarded entry count) and logs the inspection.
pub fn inspect(c: &Connection, req: &InspectTicket) -> StoreResult<Inspected> {
    let r = row(c, &format!("{CHECK_IN_SELECT} WHERE t.id = ?"), [req.ticket_id.0])?
        .ok_or(StoreError::NotFound("ticket"))?;
    let scan = phone_rows::inspection_scan(&r, req)?;
    let mut verdict = decide(&r, &scan)?;
    if let Ok(admission) = &verdict
        && !super::checkin::take_entry(c, req.ticket_id.0, admission)?
    {
        verdict = Err(lost_race(admission));
    }
    log_inspection(c, req, scan.presented_version, verdict.as_ref().err().copied())?;
    Ok(Inspected { verdict, ticket: ticket_row(c, req.ticket_id)? })
}

pub fn inspections(c: &Connection, ticket: TicketId) -> StoreResult<Vec<InspectionLog>> {
    rows(c, "SELECT * FROM inspections WHERE ticket_id = ? ORDER BY id", [ticket.0])?
        .iter()
        .map(phone_rows::inspection_log)
        .collect()
}
