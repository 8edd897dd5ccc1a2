//! Gate terminals on SQLite: enrolment, the ticket feed (stamped by triggers from one counter,
//! see migration 0007), uploads reconciled inside the single writer's transaction, conflicts
//! and entries over time.

use super::sql::{exec, insert, row, rows as fetch, scalar};
use crate::gate_rows::{self as rows, DEVICE_SELECT};
use crate::model::Session;
use crate::rules::{CHECK_IN_SELECT, lost_race};
use crate::{
    Conflict, EntryCount, GateDevice, GateDeviceId, GateVerdict, NewGateDevice, StoreError, StoreResult, TicketChanges,
    TicketChangesQuery, UploadOutcome, UploadResult, UploadedScan,
};
use admit_domain::{SessionId, VenueId};
use rusqlite::{Connection, params, params_from_iter};

pub fn enrol(c: &Connection, d: &NewGateDevice) -> StoreResult<GateDevice> {
    if scalar::<i64>(c, "SELECT 1 FROM gates WHERE id = ?", [d.gate_id.0])?.is_none() {
        return Err(StoreError::NotFound("gate"));
    }
    let id = insert(
        c,
        "INSERT INTO gate_devices (gate_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
        params![d.gate_id.0, d.name, &d.token_hash[..], d.now_ms],
    )?;
    device(c, GateDeviceId(id))
}

pub fn device(c: &Connection, id: GateDeviceId) -> StoreResult<GateDevice> {
    row(c, &format!("{DEVICE_SELECT} WHERE d.id = ?"), [id.0])?
        .as_ref()
        .map(rows::device)
        .transpose()?
        .ok_or(StoreError::NotFound("gate device"))
}

pub fn device_by_token(c: &Connection, hash: [u8; 32]) -> StoreResult<Option<GateDevice>> {
    row(c, &format!("{DEVICE_SELECT} WHERE d.token_hash = ?"), [&hash[..]])?.as_ref().map(rows::device).transpose()
}

pub fn revoke(c: &Connection, id: GateDeviceId, now_ms: i64) -> StoreResult<GateDevice> {
    exec(c, "UPDATE gate_devices SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", [now_ms, id.0])?;
    device(c, id)
}

pub fn venue_sessions(c: &Connection, venue: VenueId, ended_after_ms: i64) -> StoreResult<Vec<Session>> {
    let sql = format!("{} WHERE e.venue_id = ? AND s.ends_at >= ? ORDER BY s.id", rows::VENUE_SESSIONS_SELECT);
    rows::sessions(&fetch(c, &sql, [venue.0, ended_after_ms])?)
}

/// `WHERE` for the feed (the sessions, stamped at or after `since`, after the id cursor) and
/// its parameters.
fn feed_filter(query: &TicketChangesQuery, with_cursor: bool) -> (String, Vec<i64>) {
    let mut args: Vec<i64> = query.sessions.iter().map(|s| s.0).collect();
    let list = vec!["?"; args.len()].join(", ");
    let mut sql = format!(" WHERE t.session_id IN ({list}) AND t.sync_rev >= ?");
    args.push(query.since as i64);
    if let (true, Some(after)) = (with_cursor, query.after) {
        sql.push_str(" AND t.id > ?");
        args.push(after.0);
    }
    (sql, args)
}

pub fn ticket_changes(c: &Connection, query: &TicketChangesQuery) -> StoreResult<TicketChanges> {
    // The counter first: every stamp below it is committed (one writer), so it is the watermark.
    let clock: i64 =
        scalar(c, "SELECT rev FROM sync_clock WHERE id = 1", [])?.ok_or(StoreError::NotFound("sync clock"))?;
    if query.sessions.is_empty() {
        return Ok(TicketChanges { tickets: vec![], watermark: clock as u64 + 1, more: false, total: Some(0) });
    }
    let limit = query.limit.clamp(1, rows::MAX_PAGE);
    let (filter, mut args) = feed_filter(query, true);
    args.push(i64::from(limit) + 1);
    let found =
        fetch(c, &format!("{}{filter} ORDER BY t.id LIMIT ?", rows::TICKET_STATE_SELECT), params_from_iter(args))?;
    let mut tickets = found.iter().map(rows::ticket_state).collect::<StoreResult<Vec<_>>>()?;
    let more = tickets.len() > limit as usize;
    tickets.truncate(limit as usize);
    let total = match query.after {
        Some(_) => None,
        None => {
            let (filter, args) = feed_filter(query, false);
            let n: i64 =
                scalar(c, &format!("SELECT COUNT(*) FROM tickets t{filter}"), params_from_iter(args))?.unwrap_or(0);
            Some(n as u64)
        }
    };
    Ok(TicketChanges { tickets, watermark: clock as u64 + 1, more, total })
}

/// Inside the writer's transaction: each scan once per (device, seq), admits reconciled
/// against the ticket in scan order.
pub fn upload(
    c: &Connection,
    device: GateDeviceId,
    scans: &[UploadedScan],
    now_ms: i64,
) -> StoreResult<Vec<UploadResult>> {
    rows::check_upload(scans)?;
    let mut results = Vec::with_capacity(scans.len());
    for scan in scans {
        let seen =
            scalar::<i64>(c, "SELECT 1 FROM device_scans WHERE device_id = ? AND seq = ?", [device.0, scan.seq])?;
        if seen.is_none() {
            let outcome = reconcile(c, device, scan)?;
            record(c, device, scan, outcome, now_ms)?;
        }
        let r = row(
            c,
            &format!("{} WHERE ds.device_id = ? AND ds.seq = ?", rows::UPLOAD_RESULT_SELECT),
            [device.0, scan.seq],
        )?
        .ok_or(StoreError::NotFound("device scan"))?;
        results.push(rows::upload_result(&r)?);
    }
    Ok(results)
}

fn reconcile(c: &Connection, device: GateDeviceId, scan: &UploadedScan) -> StoreResult<UploadOutcome> {
    let GateVerdict::Admit = scan.verdict else {
        log_scan(c, device, scan)?;
        return Ok(UploadOutcome::Recorded);
    };
    let ticket = match scan.ticket_id {
        Some(t) => row(c, &format!("{CHECK_IN_SELECT} WHERE t.id = ?"), [t.0])?,
        None => None,
    };
    let admission = match rows::reconcile_admit(ticket.as_ref(), scan)? {
        Ok(admission) => admission,
        Err(reason) => return Ok(UploadOutcome::Conflict(reason)),
    };
    let taken = match scan.ticket_id {
        Some(t) => super::checkin::take_entry(c, t.0, &admission)?,
        None => false,
    };
    if !taken {
        return Ok(UploadOutcome::Conflict(lost_race(&admission)));
    }
    log_scan(c, device, scan)?;
    Ok(UploadOutcome::Counted)
}

/// The scan in the shared scan log, marked with its device (conflicts stay out of it: the log's
/// admits are exactly the entries taken; a denial without a session stays in `device_scans`).
fn log_scan(c: &Connection, device: GateDeviceId, scan: &UploadedScan) -> StoreResult<()> {
    let Some(session) = scan.session_id else { return Ok(()) };
    let (verdict, reason) = rows::verdict_code(scan.verdict);
    exec(
        c,
        "INSERT INTO scans (ticket_id, ticket_version, session_id, gate_id, at, verdict, reason, device_id, device_seq,
                            latitude, longitude, direction)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            scan.ticket_id.map(|t| t.0),
            scan.ticket_version.map(i64::from),
            session.0,
            scan.gate_id.0,
            scan.scanned_at_ms,
            verdict,
            reason,
            device.0,
            scan.seq,
            scan.latitude,
            scan.longitude,
            scan.direction.as_str()
        ],
    )?;
    Ok(())
}

fn record(
    c: &Connection,
    device: GateDeviceId,
    scan: &UploadedScan,
    outcome: UploadOutcome,
    now_ms: i64,
) -> StoreResult<()> {
    let (verdict, reason) = rows::verdict_code(scan.verdict);
    let (outcome, conflict_reason) = rows::outcome_codes(outcome);
    exec(
        c,
        "INSERT INTO device_scans (device_id, seq, ticket_id, ticket_version, session_id, gate_id, verdict, reason,
                                   scanned_at, latitude, longitude, outcome, conflict_reason, received_at, direction,
                                   device_counter)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            device.0,
            scan.seq,
            scan.ticket_id.map(|t| t.0),
            scan.ticket_version.map(i64::from),
            scan.session_id.map(|s| s.0),
            scan.gate_id.0,
            verdict,
            reason,
            scan.scanned_at_ms,
            scan.latitude,
            scan.longitude,
            outcome,
            conflict_reason,
            now_ms,
            scan.direction.as_str(),
            scan.device_counter.map(i64::from)
        ],
    )?;
    Ok(())
}

pub fn conflicts(c: &Connection, session: SessionId) -> StoreResult<Vec<Conflict>> {
    let found = fetch(
        c,
        &format!(
            "{} WHERE ds.session_id = ? AND ds.outcome = 'conflict' ORDER BY ds.scanned_at, ds.device_id, ds.seq",
            rows::CONFLICTS_SELECT
        ),
        [session.0],
    )?;
    let admits = fetch(
        c,
        &format!(
            "{} WHERE sc.verdict = 'admit' AND sc.ticket_id IN
                 (SELECT ticket_id FROM device_scans WHERE session_id = ? AND outcome = 'conflict')
             ORDER BY sc.at, sc.id",
            rows::COUNTED_ADMITS_SELECT
        ),
        [session.0],
    )?;
    rows::conflicts(&found, &admits)
}

pub fn entries(c: &Connection, session: SessionId, bucket_ms: i64) -> StoreResult<Vec<EntryCount>> {
    rows::check_bucket(bucket_ms)?;
    fetch(c, rows::ENTRIES_SQL, [bucket_ms, session.0, bucket_ms, session.0])?
        .iter()
        .map(|r| rows::entry_count(r, bucket_ms))
        .collect()
}
