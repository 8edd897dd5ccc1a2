//! Gate manifests and the atomic online check-in.

use super::sql::{exec, row, rows};
use crate::StoreResult;
use crate::decode::{self, MANIFEST_SELECT};
use crate::model::*;
use crate::rules::{CHECK_IN_SELECT, decide, entry_binds, lost_race};
use admit_domain::{DenyReason, SessionId};
use rusqlite::{Connection, params};

pub fn manifest(c: &Connection, session: SessionId) -> StoreResult<Vec<ManifestRow>> {
    rows(
        c,
        &format!("{MANIFEST_SELECT} WHERE t.session_id = ? ORDER BY g.code, st.row_rank, st.number, t.reference"),
        [session.0],
    )?
    .iter()
    .map(decode::manifest_row)
    .collect()
}

fn log(c: &Connection, scan: &ScanRequest, reason: Option<DenyReason>) -> StoreResult<()> {
    exec(
        c,
        "INSERT INTO scans (ticket_id, ticket_version, session_id, gate_id, at, verdict, reason, direction)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            scan.ticket_id.0,
            i64::from(scan.presented_version),
            scan.gate_session.0,
            scan.gate_id.0,
            scan.now_ms,
            if reason.is_none() { "admit" } else { "deny" },
            reason.map(|r| r.code()),
            scan.direction.as_str()
        ],
    )?;
    Ok(())
}

/// Decides and records one scan inside the caller's write transaction. The outer `Result` is
/// a storage failure; the inner one is the verdict (the scan is logged either way).
pub fn check_in(c: &Connection, scan: &ScanRequest) -> StoreResult<Result<Admission, DenyReason>> {
    let Some(r) = row(c, &format!("{CHECK_IN_SELECT} WHERE t.id = ?"), [scan.ticket_id.0])? else {
        log(c, scan, Some(DenyReason::UnknownTicket))?;
        return Ok(Err(DenyReason::UnknownTicket));
    };
    let admission = match decide(&r, scan)? {
        Ok(admission) => admission,
        Err(reason) => {
            log(c, scan, Some(reason))?;
            return Ok(Err(reason));
        }
    };
    if !take_entry(c, scan.ticket_id.0, &admission)? {
        let reason = lost_race(&admission);
        log(c, scan, Some(reason))?;
        return Ok(Err(reason));
    }
    log(c, scan, None)?;
    Ok(Ok(admission))
}

/// Moves the ticket's entry state from what was decided on to what the scan makes it, guarded
/// by the former: false when another entry or exit changed it in between (the scan lost). The
/// last device counter is part of the state, so a presentation is recorded by the update that
/// counts it and the same presentation cannot pass the guard twice.
pub fn take_entry(c: &Connection, ticket: i64, admission: &Admission) -> StoreResult<bool> {
    let (after, before) = (entry_binds(&admission.after), entry_binds(&admission.before));
    let changed = exec(
        c,
        // By the row's key, found once: an UPDATE that finds its row through the id index
        // first collects the row and then updates it (migration 0009). `IS` compares NULLs.
        "UPDATE tickets SET entries_used = ?, inside = ?, session_entries = ?, device_version = ?, device_counter = ?
         WHERE seq = (SELECT seq FROM tickets WHERE id = ?) AND entries_used = ? AND inside = ? AND session_entries = ?
           AND device_version IS ? AND device_counter IS ?",
        params![
            after.entries_used,
            after.inside,
            after.session_entries,
            after.device_version,
            after.device_counter,
            ticket,
            before.entries_used,
            before.inside,
            before.session_entries,
            before.device_version,
            before.device_counter
        ],
    )?;
    Ok(changed == 1)
}

pub fn log_denied(c: &Connection, scan: &DeniedScan) -> StoreResult<()> {
    exec(
        c,
        "INSERT INTO scans (ticket_id, session_id, gate_id, at, verdict, reason) VALUES (?, ?, ?, ?, 'deny', ?)",
        params![scan.ticket_id.map(|t| t.0), scan.session_id.0, scan.gate_id.0, scan.now_ms, scan.reason.code()],
    )?;
    Ok(())
}
