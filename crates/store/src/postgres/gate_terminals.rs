//! Gate terminals on PostgreSQL: enrolment, the ticket feed (rows stamped with the writing
//! transaction's id by a trigger, watermark = the oldest transaction still running; see
//! migration 0007), uploads reconciled under row locks, conflicts and entries over time.
//!
//! An upload locks its device row first (uploads of one device, e.g. a retry racing the
//! original, run one after the other), then every ticket it admits in id order, so uploads
//! from many devices never wait on each other in a cycle; an online check locks one ticket.

use super::retry::contended;
use crate::gate_rows::{self as rows, DEVICE_SELECT};
use crate::model::Session;
use crate::rules::CHECK_IN_SELECT;
use crate::{
    Conflict, EntryCount, GateDevice, GateDeviceId, GateVerdict, NewGateDevice, StoreError, StoreResult, TicketChanges,
    TicketChangesQuery, UploadOutcome, UploadResult, UploadedScan,
};
use admit_domain::{SessionId, VenueId};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

pub async fn enrol(conn: &mut PgConnection, d: &NewGateDevice) -> StoreResult<GateDevice> {
    let gate = sqlx::query("SELECT 1 FROM gates WHERE id = $1").bind(d.gate_id.0).fetch_optional(&mut *conn).await?;
    if gate.is_none() {
        return Err(StoreError::NotFound("gate"));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO gate_devices (gate_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(d.gate_id.0)
    .bind(&d.name)
    .bind(&d.token_hash[..])
    .bind(d.now_ms)
    .fetch_one(&mut *conn)
    .await?;
    device(conn, GateDeviceId(id)).await
}

pub async fn device(conn: &mut PgConnection, id: GateDeviceId) -> StoreResult<GateDevice> {
    let row = sqlx::query(&format!("{DEVICE_SELECT} WHERE d.id = $1")).bind(id.0).fetch_optional(conn).await?;
    row.as_ref().map(rows::device).transpose()?.ok_or(StoreError::NotFound("gate device"))
}

pub async fn device_by_token(pool: &PgPool, hash: [u8; 32]) -> StoreResult<Option<GateDevice>> {
    let row =
        sqlx::query(&format!("{DEVICE_SELECT} WHERE d.token_hash = $1")).bind(&hash[..]).fetch_optional(pool).await?;
    row.as_ref().map(rows::device).transpose()
}

pub async fn revoke(conn: &mut PgConnection, id: GateDeviceId, now_ms: i64) -> StoreResult<GateDevice> {
    sqlx::query("UPDATE gate_devices SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    device(conn, id).await
}

pub async fn venue_sessions(pool: &PgPool, venue: VenueId, ended_after_ms: i64) -> StoreResult<Vec<Session>> {
    let sql = format!("{} WHERE e.venue_id = $1 AND s.ends_at >= $2 ORDER BY s.id", rows::VENUE_SESSIONS_SELECT);
    rows::sessions(&sqlx::query(&sql).bind(venue.0).bind(ended_after_ms).fetch_all(pool).await?)
}

/// `WHERE` for the feed: the sessions, stamped at or after `since`, after the id cursor.
fn feed_filter<'a>(q: &mut QueryBuilder<'a, Postgres>, query: &'a TicketChangesQuery, with_cursor: bool) {
    let sessions: Vec<i64> = query.sessions.iter().map(|s| s.0).collect();
    q.push(" WHERE t.session_id = ANY(").push_bind(sessions);
    q.push(") AND t.sync_xid >= ").push_bind(query.since.to_string()).push("::text::xid8");
    if let (true, Some(after)) = (with_cursor, query.after) {
        q.push(" AND t.id > ").push_bind(after.0);
    }
}

pub async fn ticket_changes(pool: &PgPool, query: &TicketChangesQuery) -> StoreResult<TicketChanges> {
    // The watermark first: every transaction below it had finished when we looked, so every
    // change stamped below it is visible to the reads that follow.
    let xmin: String =
        sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetch_one(pool).await?;
    let watermark: u64 = xmin.parse().map_err(|_| crate::rows::corrupt(format!("xmin '{xmin}' is not a number")))?;
    if query.sessions.is_empty() {
        return Ok(TicketChanges { tickets: vec![], watermark, more: false, total: Some(0) });
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
    Ok(TicketChanges { tickets, watermark, more, total })
}

/// Inside the caller's transaction: each scan once per (device, seq), admits reconciled
/// against their locked tickets in scan order.
pub async fn upload(
    conn: &mut PgConnection,
    device: GateDeviceId,
    scans: &[UploadedScan],
    now_ms: i64,
) -> StoreResult<Vec<UploadResult>> {
    rows::check_upload(scans)?;
    let locked = sqlx::query("SELECT id FROM gate_devices WHERE id = $1 FOR UPDATE")
        .bind(device.0)
        .fetch_optional(&mut *conn)
        .await?;
    if locked.is_none() {
        return Err(StoreError::NotFound("gate device"));
    }
    let mut tickets: Vec<i64> =
        scans.iter().filter(|s| s.verdict == GateVerdict::Admit).filter_map(|s| s.ticket_id.map(|t| t.0)).collect();
    tickets.sort_unstable();
    tickets.dedup();
    sqlx::query("SELECT id FROM tickets WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&tickets)
        .fetch_all(&mut *conn)
        .await?;
    let mut results = Vec::with_capacity(scans.len());
    for scan in scans {
        let seen = sqlx::query("SELECT 1 FROM device_scans WHERE device_id = $1 AND seq = $2")
            .bind(device.0)
            .bind(scan.seq)
            .fetch_optional(&mut *conn)
            .await?;
        if seen.is_none() {
            let outcome = reconcile(conn, device, scan).await?;
            record(conn, device, scan, outcome, now_ms).await?;
        }
        let row = sqlx::query(&format!("{} WHERE ds.device_id = $1 AND ds.seq = $2", rows::UPLOAD_RESULT_SELECT))
            .bind(device.0)
            .bind(scan.seq)
            .fetch_one(&mut *conn)
            .await?;
        results.push(rows::upload_result(&row)?);
    }
    Ok(results)
}

async fn reconcile(conn: &mut PgConnection, device: GateDeviceId, scan: &UploadedScan) -> StoreResult<UploadOutcome> {
    let GateVerdict::Admit = scan.verdict else {
        log_scan(conn, device, scan).await?;
        return Ok(UploadOutcome::Recorded);
    };
    let row = match scan.ticket_id {
        Some(t) => {
            sqlx::query(&format!("{CHECK_IN_SELECT} WHERE t.id = $1")).bind(t.0).fetch_optional(&mut *conn).await?
        }
        None => None,
    };
    let admission = match rows::reconcile_admit(row.as_ref(), scan)? {
        Ok(admission) => admission,
        Err(reason) => return Ok(UploadOutcome::Conflict(reason)),
    };
    let taken = match scan.ticket_id {
        Some(t) => super::checkin::take_entry(conn, t.0, &admission).await?,
        None => false,
    };
    if !taken {
        // Impossible under the row lock; run the whole upload again rather than guess.
        return Err(contended());
    }
    log_scan(conn, device, scan).await?;
    Ok(UploadOutcome::Counted)
}

/// The scan in the shared scan log, marked with its device (conflicts stay out of it: the log's
/// admits are exactly the entries taken; a denial without a session stays in `device_scans`).
async fn log_scan(conn: &mut PgConnection, device: GateDeviceId, scan: &UploadedScan) -> StoreResult<()> {
    let Some(session) = scan.session_id else { return Ok(()) };
    let (verdict, reason) = rows::verdict_code(scan.verdict);
    sqlx::query(
        "INSERT INTO scans (ticket_id, ticket_version, session_id, gate_id, at, verdict, reason, device_id, device_seq,
                            latitude, longitude, direction)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    conn: &mut PgConnection,
    device: GateDeviceId,
    scan: &UploadedScan,
    outcome: UploadOutcome,
    now_ms: i64,
) -> StoreResult<()> {
    let (verdict, reason) = rows::verdict_code(scan.verdict);
    let (outcome, conflict_reason) = rows::outcome_codes(outcome);
    sqlx::query(
        "INSERT INTO device_scans (device_id, seq, ticket_id, ticket_version, session_id, gate_id, verdict, reason,
                                   scanned_at, latitude, longitude, outcome, conflict_reason, received_at, direction,
                                   device_counter)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
    .bind(scan.device_counter.map(i64::from))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn conflicts(pool: &PgPool, session: SessionId) -> StoreResult<Vec<Conflict>> {
    let found = sqlx::query(&format!(
        "{} WHERE ds.session_id = $1 AND ds.outcome = 'conflict' ORDER BY ds.scanned_at, ds.device_id, ds.seq",
        rows::CONFLICTS_SELECT
    ))
    .bind(session.0)
    .fetch_all(pool)
    .await?;
    let admits = sqlx::query(&format!(
        "{} WHERE sc.verdict = 'admit' AND sc.ticket_id IN
             (SELECT ticket_id FROM device_scans WHERE session_id = $1 AND outcome = 'conflict')
         ORDER BY sc.at, sc.id",
        rows::COUNTED_ADMITS_SELECT
    ))
    .bind(session.0)
    .fetch_all(pool)
    .await?;
    rows::conflicts(&found, &admits)
}

pub async fn entries(pool: &PgPool, session: SessionId, bucket_ms: i64) -> StoreResult<Vec<EntryCount>> {
    rows::check_bucket(bucket_ms)?;
    let mut n = 0;
    let sql = rows::ENTRIES_SQL
        .chars()
        .map(|c| match c {
            '?' => {
                n += 1;
                format!("${n}")
            }
            c => c.to_string(),
        })
        .collect::<String>();
    let found =
        sqlx::query(&sql).bind(bucket_ms).bind(session.0).bind(bucket_ms).bind(session.0).fetch_all(pool).await?;
    found.iter().map(|r| rows::entry_count(r, bucket_ms)).collect()
}
