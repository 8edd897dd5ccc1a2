//! Gate manifests and the atomic online check-in.
//!
//! The ticket row is locked (`FOR UPDATE`) before the entry is decided, so scans of one ticket
//! on any number of nodes are decided one after another on its current count; the guarded
//! `entries_used` update stays as a second line of defence.

use crate::StoreResult;
use crate::decode::{self, MANIFEST_SELECT};
use crate::model::*;
use crate::rules::{CHECK_IN_SELECT, decide, entry_binds, lost_race};
use admit_domain::{DenyReason, SessionId};
use sqlx::{PgConnection, PgPool};

pub async fn manifest(pool: &PgPool, session: SessionId) -> StoreResult<Vec<ManifestRow>> {
    // The SQLite order, spelled for PostgreSQL: byte-wise text, NULL seats first.
    let rows = sqlx::query(&format!(
        "{MANIFEST_SELECT} WHERE t.session_id = $1
         ORDER BY g.code COLLATE \"C\", st.row_rank NULLS FIRST, st.number NULLS FIRST, t.reference COLLATE \"C\""
    ))
    .bind(session.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode::manifest_row).collect()
}

async fn log(conn: &mut PgConnection, scan: &ScanRequest, reason: Option<DenyReason>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO scans (ticket_id, ticket_version, session_id, gate_id, at, verdict, reason, direction)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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

/// Decides and records one scan inside the caller's transaction. The outer `Result` is a
/// storage failure; the inner one is the verdict (the scan is logged either way).
pub async fn check_in(conn: &mut PgConnection, scan: &ScanRequest) -> StoreResult<Result<Admission, DenyReason>> {
    let row = sqlx::query(&format!("{CHECK_IN_SELECT} WHERE t.id = $1 FOR UPDATE OF t"))
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
    if !take_entry(conn, scan.ticket_id.0, &admission).await? {
        let reason = lost_race(&admission);
        log(conn, scan, Some(reason)).await?;
        return Ok(Err(reason));
    }
    log(conn, scan, None).await?;
    Ok(Ok(admission))
}

/// Moves the ticket's entry state from what was decided on to what the scan makes it, guarded
/// by the former: false when another entry or exit changed it in between (the scan lost). The
/// last device counter is part of the state, so a presentation is recorded by the update that
/// counts it and the same presentation cannot pass the guard twice.
pub async fn take_entry(conn: &mut PgConnection, ticket: i64, admission: &Admission) -> StoreResult<bool> {
    let (after, before) = (entry_binds(&admission.after), entry_binds(&admission.before));
    let changed = sqlx::query(
        "UPDATE tickets SET entries_used = $1, inside = $2, session_entries = $3, device_version = $4,
                device_counter = $5
         WHERE id = $6 AND entries_used = $7 AND inside = $8 AND session_entries = $9
           AND device_version IS NOT DISTINCT FROM $10 AND device_counter IS NOT DISTINCT FROM $11",
    )
    .bind(after.entries_used)
    .bind(after.inside)
    .bind(after.session_entries)
    .bind(after.device_version)
    .bind(after.device_counter)
    .bind(ticket)
    .bind(before.entries_used)
    .bind(before.inside)
    .bind(before.session_entries)
    .bind(before.device_version)
    .bind(before.device_counter)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

pub async fn log_denied(pool: &PgPool, scan: &DeniedScan) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO scans (ticket_id, session_id, gate_id, at, verdict, reason) VALUES ($1, $2, $3, $4, 'deny', $5)",
    )
    .bind(scan.ticket_id.map(|t| t.0))
    .bind(scan.session_id.0)
    .bind(scan.gate_id.0)
    .bind(scan.now_ms)
    .bind(scan.reason.code())
    .execute(pool)
    .await?;
    Ok(())
}
