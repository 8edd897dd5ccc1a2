//! Gate manifests and the atomic online check-in.

use super::rows::{i64_at, parsed, str_at, u32_at};
use crate::StoreResult;
use crate::model::*;
use admit_domain::{DenyReason, EntryPolicy, SessionId, TicketAtGate, TicketStatus, decide_entry};
use sqlx::{Row, SqliteConnection, SqlitePool};

pub async fn manifest(pool: &SqlitePool, session: SessionId) -> StoreResult<Vec<ManifestRow>> {
    let rows = sqlx::query(
        "SELECT t.reference, t.inspection_code, st.label AS seat, g.code AS grade, t.version, t.status,
                t.entries_used, t.max_entries
         FROM tickets t JOIN grades g ON g.id = t.grade_id LEFT JOIN seats st ON st.id = t.seat_id
         WHERE t.session_id = ? ORDER BY g.code, st.row_rank, st.number, t.reference",
    )
    .bind(session.0)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ManifestRow {
                reference: str_at(r, "reference")?,
                inspection_code: str_at(r, "inspection_code")?,
                seat: r.try_get("seat")?,
                grade: str_at(r, "grade")?,
                version: u32_at(r, "version")?,
                status: parsed(r, "status", TicketStatus::parse)?,
                entries_used: u32_at(r, "entries_used")?,
                max_entries: u32_at(r, "max_entries")?,
            })
        })
        .collect()
}

async fn log(conn: &mut SqliteConnection, scan: &ScanRequest, reason: Option<DenyReason>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO scans (ticket_id, ticket_version, session_id, gate_id, at, verdict, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(scan.ticket_id.0)
    .bind(i64::from(scan.presented_version))
    .bind(scan.gate_session.0)
    .bind(scan.gate_id.0)
    .bind(scan.now_ms)
    .bind(if reason.is_none() { "admit" } else { "deny" })
    .bind(reason.map(|r| r.code()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Decides and records one scan inside the caller's write transaction. The outer `Result` is
/// a storage failure; the inner one is the verdict (the scan is logged either way).
pub async fn check_in(conn: &mut SqliteConnection, scan: &ScanRequest) -> StoreResult<Result<Admission, DenyReason>> {
    let row = sqlx::query(
        "SELECT t.reference, t.version, t.status, t.session_id, t.entries_used, t.max_entries,
                st.label AS seat, g.code AS grade
         FROM tickets t JOIN grades g ON g.id = t.grade_id LEFT JOIN seats st ON st.id = t.seat_id WHERE t.id = ?",
    )
    .bind(scan.ticket_id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else {
        log(conn, scan, Some(DenyReason::UnknownTicket)).await?;
        return Ok(Err(DenyReason::UnknownTicket));
    };
    let ticket = TicketAtGate {
        status: parsed(&r, "status", TicketStatus::parse)?,
        current_version: u32_at(&r, "version")?,
        session_id: SessionId(i64_at(&r, "session_id")?),
        entries_used: u32_at(&r, "entries_used")?,
        policy: EntryPolicy { max_entries: u32_at(&r, "max_entries")? },
    };
    let ctx = admit_domain::ScanContext {
        presented_version: scan.presented_version,
        presented_session: scan.presented_session,
        gate_session: scan.gate_session,
        valid_from_ms: scan.valid_from_ms,
        valid_until_ms: scan.valid_until_ms,
        now_ms: scan.now_ms,
    };
    if let Err(reason) = decide_entry(&ticket, &ctx) {
        log(conn, scan, Some(reason)).await?;
        return Ok(Err(reason));
    }
    // Guarded by the count we decided on: a concurrent entry makes this update miss.
    let counted = sqlx::query("UPDATE tickets SET entries_used = entries_used + 1 WHERE id = ? AND entries_used = ?")
        .bind(scan.ticket_id.0)
        .bind(i64::from(ticket.entries_used))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if counted != 1 {
        log(conn, scan, Some(DenyReason::AlreadyUsed)).await?;
        return Ok(Err(DenyReason::AlreadyUsed));
    }
    log(conn, scan, None).await?;
    Ok(Ok(Admission {
        ticket_id: scan.ticket_id,
        reference: str_at(&r, "reference")?,
        seat_label: r.try_get("seat")?,
        grade_code: str_at(&r, "grade")?,
        entries_used: ticket.entries_used + 1,
        max_entries: ticket.policy.max_entries,
    }))
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
