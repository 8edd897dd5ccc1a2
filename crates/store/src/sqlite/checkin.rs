//! Gate manifests and the atomic online check-in.

use crate::StoreResult;
use crate::decode::{self, MANIFEST_SELECT};
use crate::model::*;
use crate::rules::{CHECK_IN_SELECT, decide, entry_binds, lost_race};
use admit_domain::{DenyReason, SessionId};
use sqlx::{SqliteConnection, SqlitePool};

pub async fn manifest(pool: &SqlitePool, session: SessionId) -> StoreResult<Vec<ManifestRow>> {
    let rows = sqlx::query(&format!(
        "{MANIFEST_SELECT} WHERE t.session_id = ? ORDER BY g.code, st.row_rank, st.number, t.reference"
    ))
    .bind(session.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode::manifest_row).collect()
}

async fn log(conn: &mut SqliteConnection, scan: &ScanRequest, reason: Option<DenyReason>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO scans (ticket_id, ticket_version, session_id, gate_id, at, verdict, reason, direction)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(scan.ticket_id.0)
    .bind(i64::from(scan.presented_version))
    .bind(scan.gate_session.0)
    .bind(scan.gate_id.0)
    .bind(scan.now_ms)
    .bind(if reason.is_none() { "admit" } else { "deny" })
    .bind(reason.map(|r| r.code()))
    .bind(scan.direction.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Decides and records one scan inside the caller's write transaction. The outer `Result` is
/// a storage failure; the inner one is the verdict (the scan is logged either way).
pub async fn check_in(conn: &mut SqliteConnection, scan: &ScanRequest) -> StoreResult<Result<Admission, DenyReason>> {
    let row = sqlx::query(&format!("{CHECK_IN_SELECT} WHERE t.id = ?"))
        .bind(scan.ticket_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else {
        log(conn, scan, Some(DenyReason::UnknownTicket)).await?;
        return Ok(Err(DenyReason::UnknownTicket));
    };
    let admission = match decide(&r, scan)? {
        Ok(admission) => admission,
        Err(reason) => {
            log(conn, scan, Some(reason)).await?;
            return Ok(Err(reason));
        }
    };
    // Guarded by the state we decided on: a concurrent entry or exit makes this update miss.
    let (after, before) = (entry_binds(&admission.after), entry_binds(&admission.before));
    let counted = sqlx::query(
        "UPDATE tickets SET entries_used = ?, inside = ?, session_entries = ?
         WHERE id = ? AND entries_used = ? AND inside = ? AND session_entries = ?",
    )
    .bind(after.0)
    .bind(after.1)
    .bind(after.2)
    .bind(scan.ticket_id.0)
    .bind(before.0)
    .bind(before.1)
    .bind(before.2)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if counted != 1 {
        let reason = lost_race(&admission);
        log(conn, scan, Some(reason)).await?;
        return Ok(Err(reason));
    }
    log(conn, scan, None).await?;
    Ok(Ok(admission))
}

pub async fn log_denied(conn: &mut SqliteConnection, scan: &DeniedScan) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO scans (ticket_id, session_id, gate_id, at, verdict, reason) VALUES (?, ?, ?, ?, 'deny', ?)",
    )
    .bind(scan.ticket_id.map(|t| t.0))
    .bind(scan.session_id.0)
    .bind(scan.gate_id.0)
    .bind(scan.now_ms)
    .bind(scan.reason.code())
    .execute(conn)
    .await?;
    Ok(())
}
