//! Backend-neutral parts of the buyer's-phone operations: the ticket-view `SELECT` both
//! backends run, its decoding, and the decisions a bind and an inspection make inside the
//! backend's transaction, so SQLite and PostgreSQL answer alike.

use crate::decode;
use crate::model::ScanRequest;
use crate::phone::*;
use crate::rows::{Columns, corrupt, i64_at, parsed, str_at, u32_at};
use crate::{StoreError, StoreResult};
use admit_domain::{DenyReason, EventKind, GateId, SessionId, TicketId, TicketStatus};

/// What a login-link lookup selects; add `FROM login_links WHERE token_hash = …`.
pub const LOGIN_LINK_COLUMNS: &str = "order_id, expires_at, used_at";

/// What both backends select for a ticket view; add a `WHERE` (and an `ORDER BY`).
pub const VIEW_SELECT: &str =
    "SELECT t.*, g.code AS grade_code, g.name AS grade_name, g.reentry, g.multi_day, st.label AS seat_label,
            s.event_id, o.currency, s.label AS session_label, s.starts_at, s.ends_at, s.doors_at,
            e.name AS event_name, e.kind AS event_kind, e.route_from, e.route_to,
            v.name AS venue_name, v.city AS venue_city,
            (SELECT COUNT(*) FROM tickets q WHERE q.order_id = t.order_id) AS order_quantity
     FROM tickets t JOIN grades g ON g.id = t.grade_id LEFT JOIN seats st ON st.id = t.seat_id
     JOIN sessions s ON s.id = t.session_id JOIN orders o ON o.id = t.order_id
     JOIN events e ON e.id = s.event_id JOIN venues v ON v.id = e.venue_id";

/// The device key columns `device_algorithm, device_key` (or `old_…`/`new_…` with a prefix).
pub fn device_key(r: &impl Columns, algorithm: &str, key: &str) -> StoreResult<Option<DeviceKeyRecord>> {
    match r.opt_str_col(algorithm)? {
        None => Ok(None),
        Some(algorithm) => Ok(Some(DeviceKeyRecord { algorithm, public_key: r.bytes_col(key)? })),
    }
}

pub fn view(r: &impl Columns) -> StoreResult<TicketView> {
    let (from, to) = (r.opt_str_col("route_from")?, r.opt_str_col("route_to")?);
    Ok(TicketView {
        ticket: decode::ticket(r)?,
        event_name: str_at(r, "event_name")?,
        event_kind: parsed(r, "event_kind", EventKind::parse)?,
        route: from.zip(to),
        venue_name: str_at(r, "venue_name")?,
        venue_city: str_at(r, "venue_city")?,
        session_label: str_at(r, "session_label")?,
        starts_at_ms: i64_at(r, "starts_at")?,
        ends_at_ms: i64_at(r, "ends_at")?,
        doors_at_ms: i64_at(r, "doors_at")?,
        grade_name: str_at(r, "grade_name")?,
        order_quantity: u32_at(r, "order_quantity")?,
        device: device_key(r, "device_algorithm", "device_key")?,
        device_bound_at_ms: r.opt_i64_col("device_bound_at")?,
    })
}

pub fn binding_log(r: &impl Columns) -> StoreResult<DeviceBindingLog> {
    Ok(DeviceBindingLog {
        ticket_id: TicketId(i64_at(r, "ticket_id")?),
        old: device_key(r, "old_algorithm", "old_key")?,
        new: device_key(r, "new_algorithm", "new_key")?.ok_or_else(|| corrupt("a binding without a new key"))?,
        from_version: u32_at(r, "from_version")?,
        to_version: u32_at(r, "to_version")?,
        at_ms: i64_at(r, "at")?,
    })
}

pub fn inspection_log(r: &impl Columns) -> StoreResult<InspectionLog> {
    let reason = match r.opt_str_col("reason")? {
        None => None,
        Some(code) => Some(DenyReason::parse(&code).ok_or_else(|| corrupt(format!("unknown reason '{code}'")))?),
    };
    Ok(InspectionLog {
        ticket_id: TicketId(i64_at(r, "ticket_id")?),
        ticket_version: u32_at(r, "ticket_version")?,
        session_hash: crate::rows::key32(r, "session_hash")?,
        at_ms: i64_at(r, "at")?,
        reason,
    })
}

/// What a login link row (`order_id, expires_at, used_at`, or none) means at `now_ms`.
pub fn redemption(row: Option<&impl Columns>, now_ms: i64) -> StoreResult<LoginRedemption> {
    let Some(r) = row else { return Ok(LoginRedemption::Unknown) };
    if r.opt_i64_col("used_at")?.is_some() {
        return Ok(LoginRedemption::AlreadyUsed);
    }
    if now_ms >= i64_at(r, "expires_at")? {
        return Ok(LoginRedemption::Expired);
    }
    Ok(LoginRedemption::Granted { order_id: str_at(r, "order_id")? })
}

/// Columns a bind reads under its lock; add `WHERE id = …`.
pub const BIND_SELECT: &str = "SELECT version, status, device_algorithm, device_key FROM tickets";

/// The bind's decision on the locked ticket row: `Ok(old key)` to go ahead, or the final
/// answer when nothing is to be written.
pub fn decide_bind(r: &impl Columns, bind: &BindDevice) -> StoreResult<Result<Option<DeviceKeyRecord>, BindOutcome>> {
    let version = u32_at(r, "version")?;
    let current = device_key(r, "device_algorithm", "device_key")?;
    if parsed(r, "status", TicketStatus::parse)? == TicketStatus::Canceled {
        return Ok(Err(BindOutcome::Canceled));
    }
    if current.as_ref() == Some(&bind.device) {
        return Ok(Err(BindOutcome::Unchanged { version }));
    }
    if version != bind.from_version {
        return Ok(Err(BindOutcome::VersionMoved { current: version }));
    }
    if current.is_some() && !bind.rebind {
        return Ok(Err(BindOutcome::AlreadyBound));
    }
    if version == u32::MAX {
        return Err(StoreError::Invalid("the ticket cannot be re-issued any more".into()));
    }
    Ok(Ok(current))
}

/// The scan an inspection amounts to, from the `CHECK_IN_SELECT` row: the ticket's own
/// current version and session (the phone shows the current credential), at no gate.
pub fn inspection_scan(r: &impl Columns, req: &InspectTicket) -> StoreResult<ScanRequest> {
    let session = SessionId(i64_at(r, "session_id")?);
    Ok(ScanRequest {
        ticket_id: req.ticket_id,
        presented_version: u32_at(r, "version")?,
        presented_session: session,
        // Not a gate: `rules::decide` never reads it, and inspections are logged apart.
        gate_id: GateId(0),
        gate_session: session,
        gate_event: Some(admit_domain::EventId(i64_at(r, "event_id")?)),
        direction: admit_domain::Direction::Entry,
        valid_from_ms: req.valid_from_ms,
        valid_until_ms: req.valid_until_ms,
        now_ms: req.now_ms,
        device_counter: None,
    })
}
