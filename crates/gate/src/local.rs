//! The terminal's local SQLite file (`gate.db`): enrolment, synced keys/sessions/tickets, and
//! the scan log. WAL with `synchronous=FULL`: a scan whose insert returned is on disk and
//! survives a `kill -9` or a power cut, which is why the verdict is shown only after it.

use crate::GateError;
use crate::model::{Enrolment, LocalSession, LocalTicket, NewScan, PendingScan, SyncPage};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

/// The local file of one terminal.
#[derive(Clone)]
pub struct LocalDb {
    pool: SqlitePool,
}

type Result<T> = std::result::Result<T, GateError>;

impl LocalDb {
    /// Opens (creating) `path`, migrates it, and keeps it readable by its owner only.
    pub async fn open(path: &Path) -> Result<LocalDb> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| GateError::Local(format!("cannot create {}: {e}", dir.display())))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await.map_err(|e| GateError::Local(e.to_string()))?;
        restrict_permissions(path);
        Ok(LocalDb { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Replaces the enrolment (a terminal enrolled again starts its sync from scratch).
    pub async fn save_enrolment(&self, e: &Enrolment) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT OR REPLACE INTO enrolment (id, server, device_id, device_token, gate_id, venue_id, name, enrolled_at)
             VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.server)
        .bind(e.device_id)
        .bind(&e.device_token)
        .bind(e.gate_id)
        .bind(e.venue_id)
        .bind(&e.name)
        .bind(e.enrolled_at_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sync_state SET cursor = NULL, synced_at = NULL").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn enrolment(&self) -> Result<Enrolment> {
        let row = sqlx::query("SELECT * FROM enrolment WHERE id = 1").fetch_optional(&self.pool).await?;
        let r = row.ok_or(GateError::NotEnrolled)?;
        Ok(Enrolment {
            server: r.try_get("server")?,
            device_id: r.try_get("device_id")?,
            device_token: r.try_get("device_token")?,
            gate_id: r.try_get("gate_id")?,
            venue_id: r.try_get("venue_id")?,
            name: r.try_get("name")?,
            enrolled_at_ms: r.try_get("enrolled_at")?,
        })
    }

    /// The cursor of the last complete sync, and when it finished.
    pub async fn sync_state(&self) -> Result<(Option<String>, Option<i64>)> {
        let r = sqlx::query("SELECT cursor, synced_at FROM sync_state WHERE id = 1").fetch_one(&self.pool).await?;
        Ok((r.try_get("cursor")?, r.try_get("synced_at")?))
    }

    /// Applies one page of a sync in one transaction: keys, sessions and grades replaced,
    /// tickets upserted (entry counts never go down: the server's count only grows, and this
    /// terminal may already know of newer entries). With `complete`, the cursor is saved.
    pub async fn apply_sync_page(&self, page: &SyncPage, complete: Option<(&str, i64)>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM keys").execute(&mut *tx).await?;
        for (id, key) in &page.keys {
            sqlx::query("INSERT INTO keys (key_id, public_key) VALUES (?, ?)")
                .bind(i64::from(*id))
                .bind(&key[..])
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM sessions").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM grades").execute(&mut *tx).await?;
        for s in &page.sessions {
            sqlx::query(
                "INSERT INTO sessions (id, event_id, event_name, name, starts_at, doors_at, ends_at, key_id,
                                       static_accepted, rotation_seconds, proof_window_seconds)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(s.id)
            .bind(s.event_id)
            .bind(&s.event_name)
            .bind(&s.name)
            .bind(s.starts_at_ms)
            .bind(s.doors_at_ms)
            .bind(s.ends_at_ms)
            .bind(i64::from(s.key_id))
            .bind(s.static_accepted)
            .bind(i64::from(s.rotation_seconds))
            .bind(i64::from(s.proof_window_seconds))
            .execute(&mut *tx)
            .await?;
            for (code, max) in &s.grades {
                sqlx::query("INSERT OR REPLACE INTO grades (event_id, code, max_entries) VALUES (?, ?, ?)")
                    .bind(s.event_id)
                    .bind(code)
                    .bind(i64::from(*max))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for t in &page.tickets {
            sqlx::query(
                "INSERT INTO tickets (id, session_id, version, status, server_entries_used, max_entries)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, version = excluded.version,
                     status = excluded.status, max_entries = excluded.max_entries,
                     server_entries_used = MAX(server_entries_used, excluded.server_entries_used)",
            )
            .bind(t.id)
            .bind(t.session_id)
            .bind(i64::from(t.version))
            .bind(&t.status)
            .bind(i64::from(t.entries_used))
            .bind(i64::from(t.max_entries))
            .execute(&mut *tx)
            .await?;
        }
        if let Some((cursor, at)) = complete {
            sqlx::query("UPDATE sync_state SET cursor = ?, synced_at = ?")
                .bind(cursor)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every verification key: (key ID, Ed25519 public key).
    pub async fn keys(&self) -> Result<Vec<(u32, [u8; 32])>> {
        let rows = sqlx::query("SELECT key_id, public_key FROM keys").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let key: Vec<u8> = r.try_get("public_key")?;
                let key = key.try_into().map_err(|_| GateError::Local("a stored key is not 32 bytes".into()))?;
                Ok((u32::try_from(r.try_get::<i64, _>("key_id")?).unwrap_or(0), key))
            })
            .collect()
    }

    pub async fn session(&self, id: i64) -> Result<Option<LocalSession>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| -> Result<LocalSession> {
            Ok(LocalSession {
                id: r.try_get("id")?,
                event_id: r.try_get("event_id")?,
                event_name: r.try_get("event_name")?,
                name: r.try_get("name")?,
                key_id: r.try_get::<i64, _>("key_id")? as u32,
                static_accepted: r.try_get("static_accepted")?,
                proof_window_seconds: r.try_get::<i64, _>("proof_window_seconds")? as u32,
            })
        })
        .transpose()
    }

    pub async fn grade_max_entries(&self, event_id: i64, code: &str) -> Result<Option<u32>> {
        let max: Option<i64> = sqlx::query_scalar("SELECT max_entries FROM grades WHERE event_id = ? AND code = ?")
            .bind(event_id)
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(max.map(|m| m as u32))
    }

    /// The synced state of a ticket (if listed) and the entries this terminal knows were
    /// taken beyond it: for a listed ticket, its admits the server has not seen yet; for a
    /// ticket issued after the last sync, every admit in the log.
    pub async fn ticket(&self, id: i64) -> Result<(Option<LocalTicket>, u32)> {
        // One read transaction: one snapshot, so an upload marked in between is not counted twice.
        let mut tx = self.pool.begin().await?;
        let counts = sqlx::query(
            "SELECT COALESCE(SUM(uploaded = 0), 0) AS pending, COUNT(*) AS all_admits
             FROM scans WHERE ticket_id = ? AND verdict = 'admit'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let (pending, all): (i64, i64) = (counts.try_get("pending")?, counts.try_get("all_admits")?);
        let row = sqlx::query("SELECT * FROM tickets WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        let ticket = row
            .map(|r| -> Result<LocalTicket> {
                Ok(LocalTicket {
                    session_id: r.try_get("session_id")?,
                    version: r.try_get::<i64, _>("version")? as u32,
                    status: r.try_get("status")?,
                    server_entries_used: r.try_get::<i64, _>("server_entries_used")? as u32,
                    max_entries: r.try_get::<i64, _>("max_entries")? as u32,
                })
            })
            .transpose()?;
        let local = if ticket.is_some() { pending } else { all };
        Ok((ticket, local as u32))
    }

    /// Writes a scan and commits it (durably: `synchronous=FULL`); returns its sequence number.
    pub async fn record_scan(&self, s: &NewScan) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let seq = sqlx::query(
            "INSERT INTO scans (scanned_at, gate_id, session_id, ticket_id, ticket_version, verdict, reason,
                                latitude, longitude, source, uploaded)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.scanned_at_ms)
        .bind(s.gate_id)
        .bind(s.session_id)
        .bind(s.ticket_id)
        .bind(s.ticket_version.map(i64::from))
        .bind(if s.reason.is_none() { "admit" } else { "deny" })
        .bind(s.reason.map(|r| r.code()))
        .bind(s.latitude)
        .bind(s.longitude)
        .bind(if s.online { "online" } else { "offline" })
        .bind(s.online)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        if let (true, None, Some(ticket), Some(used)) = (s.online, s.reason, s.ticket_id, s.server_entries_used) {
            raise_entries(&mut tx, ticket, used).await?;
        }
        tx.commit().await?;
        Ok(seq)
    }

    /// Offline scans the server has not seen yet, oldest first.
    pub async fn pending_scans(&self, limit: u32) -> Result<Vec<PendingScan>> {
        let rows = sqlx::query("SELECT * FROM scans WHERE uploaded = 0 ORDER BY seq LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingScan {
                    seq: r.try_get("seq")?,
                    scanned_at_ms: r.try_get("scanned_at")?,
                    gate_id: r.try_get("gate_id")?,
                    session_id: r.try_get("session_id")?,
                    ticket_id: r.try_get("ticket_id")?,
                    ticket_version: r.try_get::<Option<i64>, _>("ticket_version")?.map(|v| v as u32),
                    reason: r.try_get("reason")?,
                    latitude: r.try_get("latitude")?,
                    longitude: r.try_get("longitude")?,
                })
            })
            .collect()
    }

    /// Marks uploaded scans with the server's outcome and raises the tickets' entry counts to
    /// what the server answered, in one transaction.
    pub async fn mark_uploaded(&self, results: &[(i64, String, Option<i64>, Option<u32>)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (seq, outcome, ticket, used) in results {
            sqlx::query("UPDATE scans SET uploaded = 1, outcome = ? WHERE seq = ?")
                .bind(outcome)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            if let (Some(ticket), Some(used)) = (ticket, used) {
                raise_entries(&mut tx, *ticket, *used).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many scans are logged and how many wait for upload.
    pub async fn scan_counts(&self) -> Result<(i64, i64)> {
        let r = sqlx::query("SELECT COUNT(*) AS all_scans, COALESCE(SUM(uploaded = 0), 0) AS pending FROM scans")
            .fetch_one(&self.pool)
            .await?;
        Ok((r.try_get("all_scans")?, r.try_get("pending")?))
    }

    /// Counts for the sync summary: keys, sessions, tickets, and tickets revoked (cancelled
    /// or re-issued: earlier versions refused).
    pub async fn list_counts(&self) -> Result<(i64, i64, i64, i64)> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM keys) AS keys, (SELECT COUNT(*) FROM sessions) AS sessions,
                    (SELECT COUNT(*) FROM tickets) AS tickets,
                    (SELECT COUNT(*) FROM tickets WHERE status <> 'valid' OR version > 1) AS revoked",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((r.try_get("keys")?, r.try_get("sessions")?, r.try_get("tickets")?, r.try_get("revoked")?))
    }
}

/// Raises a listed ticket's server entry count to at least `used`.
async fn raise_entries(tx: &mut sqlx::SqliteConnection, ticket: i64, used: u32) -> Result<()> {
    sqlx::query("UPDATE tickets SET server_entries_used = MAX(server_entries_used, ?) WHERE id = ?")
        .bind(i64::from(used))
        .bind(ticket)
        .execute(tx)
        .await?;
    Ok(())
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(path = %path.display(), error = %e, "could not make the gate file private");
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) {}
