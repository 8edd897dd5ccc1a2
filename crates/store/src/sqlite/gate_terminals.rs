//! Gate terminals on SQLite: enrolment, the ticket feed (stamped by triggers from one counter,
//! see migration 0007), uploads reconciled inside the single writer's transaction, conflicts
//! and entries over time.

use crate::gate_rows::{self as rows, DEVICE_SELECT};
use crate::model::Session;
use crate::rules::{CHECK_IN_SELECT, entry_binds, lost_race};
use crate::{
    Conflict, EntryCount, GateDevice, GateDeviceId, GateVerdict, NewGateDevice, StoreError, StoreResult, TicketChanges,
    TicketChangesQuery, UploadOutcome, UploadResult, UploadedScan,
};
use admit_domain::{SessionId, VenueId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

pub async fn enrol(conn: &mut SqliteConnection, d: &NewGateDevice) -> StoreResult<GateDevice> {
    let gate = sqlx::query("SELECT 1 FROM gates WHERE id = ?").bind(d.gate_id.0).fetch_optional(&mut *conn).await?;
    if gate.is_none() {
        return Err(StoreError::NotFound("gate"));
    }
    let id = sqlx::query("INSERT INTO gate_devices (gate_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)")
        .bind(d.gate_id.0)
        .bind(&d.name)
        .bind(&d.token_hash[..])
        .bind(d.now_ms)
        .execute(&mut *conn)
        .await?
        .last_insert_rowid();
    device(conn, GateDeviceId(id)).await
}

pub async fn device(conn: &mut SqliteConnection, id: GateDeviceId) -> StoreResult<GateDevice> {
    let row = sqlx::query(&format!("{DEVICE_SELECT} WHERE d.id = ?")).bind(id.0).fetch_optional(conn).await?;
    row.as_ref().map(rows::device).transpose()?.ok_or(StoreError::NotFound("gate device"))
}

pub async fn device_by_token(pool: &SqlitePool, hash: [u8; 32]) -> StoreResult<Option<GateDevice>> {
    let row =
        sqlx::query(&format!("{DEVICE_SELECT} WHERE d.token_hash = ?")).bind(&hash[..]).fetch_optional(pool).await?;
    row.as_ref().map(rows::device).transpose()
}

pub async fn revoke(conn: &mut SqliteConnection, id: GateDeviceId, now_ms: i64) -> StoreResult<GateDevice> {
    sqlx::query("UPDATE gate_devices SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    device(conn, id).await
}

pub async fn venue_sessions(pool: &SqlitePool, venue: VenueId, ended_after_ms: i64) -> StoreResult<Vec<Session>> {
    let sql = format!("{} WHERE e.venue_id = ? AND s.ends_at >= ? ORDER BY s.id", rows::VENUE_SESSIONS_SELECT);
    rows::sessions(&sqlx::query(&sql).bind(venue.0).bind(ended_after_ms).fetch_all(pool).await?)
}

/// `WHERE` for the feed: the sessions, stamped at or after `since`, after the id cursor.
fn feed_filter<'a>(q: &mut QueryBuilder<'a, Sqlite>, query: &'a TicketChangesQuery, with_cursor: bool) {
    q.push(" WHERE t.session_id IN (");
    let mut list = q.separated(", ");
    for s in &query.sessions {
        list.push_bind(s.0);
    }
    q.push(") AND t.sync_rev >= ").push_bind(query.since as i64);
    if let (true, Some(after)) = (with_cursor, query.after) {
        q.push(" AND t.id > ").push_bind(after.0);
    }
}

pub async fn ticket_changes(pool: &SqlitePool, query: &TicketChangesQuery) -> StoreResult<TicketChanges> {
    // The counter first: every stamp below it is committed (one writer), so it is the watermark.
    let clock: i64 = sqlx::query_scalar("SELECT rev FROM sync_clock WHERE id = 1").fetch_one(pool).await?;
    if query.sessions.is_empty() {
        return Ok(TicketChanges { tickets: vec![], watermark: clock as u64 + 1, more: false, total: Some(0) });
    }
    let limit = query.limit.clamp(1, rows::MAX_PAGE);
    let mut q = QueryBuilder::new(rows::TICKET_STATE_SELECT);
    feed_filter(&mut q, query, true);
    q.push(" ORDER BY t.id LIMIT ").push_bind(i64::from(limit) + 1);
    let found = q.build().fetch_all(pool).await?;
    let mut tickets = found.iter().map(rows::ticket_state).collect::<StoreResult<Vec<_>>>()?;
    let more = tickets.len() > limit as usize;
    tickets.truncate(limit as usize);
    let total = match query.after {
        Some(_) => None,
        None => {
            let mut q = QueryBuilder::new("SELECT COUNT(*) FROM tickets t");
            feed_filter(&mut q, query, false);
            Some(q.build_query_scalar::<i64>().fetch_one(pool).await? as u64)
        }
    };
    Ok(TicketChanges { tickets, watermark: clock as u64 + 1, more, total })
}

/// Inside the writer's transaction: each scan once per (device, seq), admits reconciled
/// against the ticket in scan order.
pub async fn upload(
    conn: &mut SqliteConnection,
    device: GateDeviceId,
    scans: &[UploadedScan],
    now_ms: i64,
) -> StoreResult<Vec<UploadResult>> {
    rows::check_upload(scans)?;
    let mut results = Vec::with_capacity(scans.len());
    for scan in scans {
        let seen = sqlx::query("SELECT 1 FROM device_scans WHERE device_id = ? AND seq = ?")
            .bind(device.0)
            .bind(scan.seq)
            .fetch_optional(&mut *conn)
            .await?;
        if seen.is_none() {
            let outcome = reconcile(conn, device, scan).await?;
            record(conn, device, scan, outcome, now_ms).await?;
        }
        let row = sqlx::query(&format!("{} WHERE ds.device_id = ? AND ds.seq = ?", rows::UPLOAD_RESULT_SELECT))
            .bind(device.0)
            .bind(scan.seq)
            .fetch_one(&mut *conn)
            .await?;
        results.push(rows::upload_result(&row)?);
    }
    Ok(results)
}

async fn reconcile(
    conn: &mut SqliteConnection,
    device: GateDeviceId,
    scan: &UploadedScan,
) -> StoreResult<UploadOutcome> {
    let GateVerdict::Admit = scan.verdict else {
        log_scan(conn, device, scan).await?;
        return Ok(UploadOutcome::Recorded);
    };
    let row = match scan.ticket_id {
        Some(t) => {
            sqlx::query(&format!("{CHECK_IN_SELECT} WHERE t.id = ?")).bind(t.0).fetch_optional(&mut *conn).await?
        }
        None => None,
    };
    let admission = match rows::reconcile_admit(row.as_ref(), scan)? {
        Ok(admission) => admission,
        Err(reason) => return Ok(UploadOutcome::Conflict(reason)),
    };
    let (after, before) = (entry_binds(&admission.after), entry_binds(&admission.before));
    let counted = sqlx::query(
        "UPDATE tickets SET entries_used = ?, inside = ?, session_entries = ?
         WHERE id = ? AND entries_used = ? AND inside = ? AND session_entries = ?",
    )
    .bind(after.0)
    .bind(after.1)
    .bind(after.2)
    .bind(scan.ticket_id.map(|t| t.0))
    .bind(before.0)
    .bind(before.1)
    .bind(before.2)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if counted != 1 {
        return Ok(UploadOutcome::Conflict(lost_race(&admission)));
    }
    log_scan(conn, device, scan).await?;
    Ok(UploadOutcome::Counted)
}

/// The scan in the shared scan log, marked with its device (conflicts stay out of it: the log's
/// admits are exactly the entries taken; a denial without a session stays in `device_scans`).
async fn log_scan(conn: &mut SqliteConnection, device: GateDeviceId, scan: &UploadedScan) -> StoreResult<()> {
    let Some(session) = scan.session_id else { return Ok(()) };
    let (verdict, reason) = rows::verdict_code(scan.verdict);
    sqlx::query(
        "INSERT INTO scans (ticket_id, ticket_version, session_id, gate_id, at, verdict, reason, device_id, device_seq,
                            latitude, longitude, direction)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(scan.ticket_id.map(|t| t.0))
    .bind(scan.ticket_version.map(i64::from))
    .bind(session.0)
    .bind(scan.gate_id.0)
    .bind(scan.scanned_at_ms)
    .bind(verdict)
    .bind(reason)
    .bind(device.0)
    .bind(scan.seq)
    .bind(scan.latitude)
    .bind(scan.longitude)
    .bind(scan.direction.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

async fn record(
    conn: &mut SqliteConnection,
    device: GateDeviceId,
    scan: &UploadedScan,
    outcome: UploadOutcome,
    now_ms: i64,
) -> StoreResult<()> {
    let (verdict, reason) = rows::verdict_code(scan.verdict);
    let (outcome, conflict_reason) = rows::outcome_codes(outcome);
    sqlx::query(
        "INSERT INTO device_scans (device_id, seq, ticket_id, ticket_version, session_id, gate_id, verdict, reason,
                                   scanned_at, latitude, longitude, outcome, conflict_reason, received_at, direction)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(device.0)
    .bind(scan.seq)
    .bind(scan.ticket_id.map(|t| t.0))
    .bind(scan.ticket_version.map(i64::from))
    .bind(scan.session_id.map(|s| s.0))
    .bind(scan.gate_id.0)
    .bind(verdict)
    .bind(reason)
    .bind(scan.scanned_at_ms)
    .bind(scan.latitude)
    .bind(scan.longitude)
    .bind(outcome)
    .bind(conflict_reason)
    .bind(now_ms)
    .bind(scan.direction.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn conflicts(pool: &SqlitePool, session: SessionId) -> StoreResult<Vec<Conflict>> {
    let found = sqlx::query(&format!(
        "{} WHERE ds.session_id = ? AND ds.outcome = 'conflict' ORDER BY ds.scanned_at, ds.device_id, ds.seq",
        rows::CONFLICTS_SELECT
    ))
    .bind(session.0)
    .fetch_all(pool)
    .await?;
    let admits = sqlx::query(&format!(
        "{} WHERE sc.verdict = 'admit' AND sc.ticket_id IN
             (SELECT ticket_id FROM device_scans WHERE session_id = ? AND outcome = 'conflict')
         ORDER BY sc.at, sc.id",
        rows::COUNTED_ADMITS_SELECT
    ))
    .bind(session.0)
    .fetch_all(pool)
    .await?;
    rows::conflicts(&found, &admits)
}

pub async fn entries(pool: &SqlitePool, session: SessionId, bucket_ms: i64) -> StoreResult<Vec<EntryCount>> {
    rows::check_bucket(bucket_ms)?;
    let found = sqlx::query(rows::ENTRIES_SQL)
        .bind(bucket_ms)
        .bind(session.0)
        .bind(bucket_ms)
        .bind(session.0)
        .fetch_all(pool)
        .await?;
    found.iter().map(|r| rows::entry_count(r, bucket_ms)).collect()
}
