//! The terminal's local SQLite file (`gate.db`): enrolment, synced keys/sessions/tickets, and
//! the scan log. WAL with `synchronous=FULL`: a scan whose insert returned is on disk and
//! survives a `kill -9` or a power cut, which is why the verdict is shown only after it.

use crate::GateError;
use crate::model::{Enrolment, LocalAdmit, LocalSession, LocalTicket, NewScan, PendingScan, SyncPage};
use admit_domain::{DeviceCounter, Direction, EntryPolicy, SessionEntries};
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
        sqlx::query("DELETE FROM other_event_keys").execute(&mut *tx).await?;
        for (id, key) in &page.other_event_keys {
            sqlx::query("INSERT OR REPLACE INTO other_event_keys (key_id, public_key) VALUES (?, ?)")
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
            for (code, policy) in &s.grades {
                sqlx::query(
                    "INSERT OR REPLACE INTO grades (event_id, code, max_entries, reentry, multi_day) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(s.event_id)
                .bind(code)
                .bind(i64::from(policy.max_entries))
                .bind(policy.reentry)
                .bind(policy.multi_day)
                .execute(&mut *tx)
                .await?;
            }
        }
        for t in &page.tickets {
            sqlx::query(
                "INSERT INTO tickets (id, session_id, version, status, server_entries_used, max_entries, server_inside,
                                      server_session_entries, server_device_version, server_device_counter)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, version = excluded.version,
                     status = excluded.status, max_entries = excluded.max_entries,
                     server_entries_used = MAX(server_entries_used, excluded.server_entries_used),
                     server_inside = excluded.server_inside,
                     server_session_entries = excluded.server_session_entries,
                     server_device_version = excluded.server_device_version,
                     server_device_counter = excluded.server_device_counter",
            )
            .bind(t.id)
            .bind(t.session_id)
            .bind(i64::from(t.version))
            .bind(&t.status)
            .bind(i64::from(t.entries_used))
            .bind(i64::from(t.max_entries))
            .bind(t.inside)
            .bind(&t.session_entries)
            .bind(t.last_counter.map(|c| i64::from(c.version)))
            .bind(t.last_counter.map(|c| i64::from(c.counter)))
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
        self.keys_of("SELECT key_id, public_key FROM keys").await
    }

    /// The keys of the organiser's events at other venues (never used to admit).
    pub async fn other_event_keys(&self) -> Result<Vec<(u32, [u8; 32])>> {
        self.keys_of("SELECT key_id, public_key FROM other_event_keys").await
    }

    async fn keys_of(&self, sql: &str) -> Result<Vec<(u32, [u8; 32])>> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
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

    /// A grade's entry policy (synced with its event's sessions).
    pub async fn grade_policy(&self, event_id: i64, code: &str) -> Result<Option<EntryPolicy>> {
        let row = sqlx::query("SELECT max_entries, reentry, multi_day FROM grades WHERE event_id = ? AND code = ?")
            .bind(event_id)
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| -> Result<EntryPolicy> {
            Ok(EntryPolicy {
                max_entries: r.try_get::<i64, _>("max_entries")? as u32,
                reentry: r.try_get("reentry")?,
                multi_day: r.try_get("multi_day")?,
            })
        })
        .transpose()
    }

    /// The synced state of a ticket (if listed) and the admits (entries and exits) this
    /// terminal knows were taken beyond it, oldest first: for a listed ticket, its admits the
    /// server has not seen yet; for a ticket issued after the last sync, every admit in the log.
    pub async fn ticket(&self, id: i64) -> Result<(Option<LocalTicket>, Vec<LocalAdmit>)> {
        // One read transaction: one snapshot, so an upload marked in between is not counted twice.
        let mut tx = self.pool.begin().await?;
        let admits = sqlx::query(
            "SELECT session_id, direction, uploaded FROM scans WHERE ticket_id = ? AND verdict = 'admit' ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
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
                    server_inside: r.try_get("server_inside")?,
                    server_session_entries: r.try_get("server_session_entries")?,
                    server_last_counter: counter(
                        r.try_get("server_device_version")?,
                        r.try_get("server_device_counter")?,
                    ),
                })
            })
            .transpose()?;
        let mut local = Vec::new();
        for a in &admits {
            if ticket.is_some() && a.try_get::<bool, _>("uploaded")? {
                continue;
            }
            let direction: String = a.try_get("direction")?;
            local.push(LocalAdmit {
                session_id: a.try_get("session_id")?,
                direction: Direction::parse(&direction).unwrap_or_default(),
            });
        }
        Ok((ticket, local))
    }

    /// The newest phone presentation this terminal admitted (entry or exit, offline or online)
    /// for the ticket, uploaded or not: refused as `replayed` if shown again.
    pub async fn last_counter(&self, ticket: i64) -> Result<Option<DeviceCounter>> {
        let row = sqlx::query(
            "SELECT ticket_version, device_counter FROM scans
             WHERE ticket_id = ? AND verdict = 'admit' AND ticket_version IS NOT NULL AND device_counter IS NOT NULL
             ORDER BY ticket_version DESC, device_counter DESC LIMIT 1",
        )
        .bind(ticket)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(counter(r.try_get("ticket_version")?, r.try_get("device_counter")?)),
            None => Ok(None),
        }
    }

    /// Writes a scan and commits it (durably: `synchronous=FULL`); returns its sequence number.
    pub async fn record_scan(&self, s: &NewScan) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let seq = insert_scan(&mut tx, s).await?;
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
                    direction: Direction::parse(&r.try_get::<String, _>("direction")?).unwrap_or_default(),
                    device_counter: r.try_get::<Option<i64>, _>("device_counter")?.and_then(|c| u32::try_from(c).ok()),
                })
            })
            .collect()
    }

    /// Marks uploaded scans with the server's outcome and raises the tickets' entry counts to
    /// what the server answered, in one transaction.
    pub async fn mark_uploaded(&self, results: &[(&PendingScan, String, Option<u32>)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (scan, outcome, used) in results {
            sqlx::query("UPDATE scans SET uploaded = 1, outcome = ? WHERE seq = ?")
                .bind(outcome)
                .bind(scan.seq)
                .execute(&mut *tx)
                .await?;
            if let (Some(ticket), Some(used)) = (scan.ticket_id, used) {
                // Only a counted admit moved the server's state by this scan's direction.
                let direction = (outcome == "counted").then_some(scan.direction);
                raise_entries_by(&mut tx, ticket, *used, scan.session_id, direction).await?;
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

/// A stored (version, counter) pair, when both are there and in range.
fn counter(version: Option<i64>, counter: Option<i64>) -> Option<DeviceCounter> {
    let version = u32::try_from(version?).ok()?;
    Some(DeviceCounter { version, counter: u32::try_from(counter?).ok()? })
}

/// An admit the server answered (online) moved its state: see [`raise_entries_by`].
async fn raise_entries(
    tx: &mut sqlx::SqliteConnection,
    ticket: i64,
    used: u32,
    session: Option<i64>,
    direction: Direction,
) -> Result<()> {
    raise_entries_by(tx, ticket, used, session, Some(direction)).await
}

/// Raises a listed ticket's server entry count to at least `used` and, for an admit the server
/// counted (`direction`), moves the rest of its synced state as the server did: an entry marks
/// it inside and raises its count at `session`, an exit marks it outside. (`inside` and the
/// per-session counts are read only under the policies they belong to; the next sync replaces
/// both with the server's.)
async fn raise_entries_by(
    tx: &mut sqlx::SqliteConnection,
    ticket: i64,
    used: u32,
    session: Option<i64>,
    direction: Option<Direction>,
) -> Result<()> {
    sqlx::query("UPDATE tickets SET server_entries_used = MAX(server_entries_used, ?) WHERE id = ?")
        .bind(i64::from(used))
        .bind(ticket)
        .execute(&mut *tx)
        .await?;
    let Some(direction) = direction else { return Ok(()) };
    let row = sqlx::query("SELECT server_session_entries FROM tickets WHERE id = ?")
        .bind(ticket)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else { return Ok(()) };
    let mut per_session =
        SessionEntries::parse(&row.try_get::<String, _>("server_session_entries")?).unwrap_or_default();
    if let (Direction::Entry, Some(session)) = (direction, session) {
        let at = per_session.0.entry(session).or_insert(0);
        *at = (*at).max(used);
    }
    sqlx::query("UPDATE tickets SET server_inside = ?, server_session_entries = ? WHERE id = ?")
        .bind(direction == Direction::Entry)
        .bind(per_session.to_text())
        .bind(ticket)
        .execute(&mut *tx)
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

// Counting what waits for upload (the terminal's display and its end-to-end tests).
impl LocalDb {
    /// Scans waiting for upload (an indexed count).
    pub async fn pending_count(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS pending FROM scans WHERE uploaded = 0").fetch_one(&self.pool).await?;
        Ok(r.try_get("pending")?)
    }

    /// Writes many scans in one transaction (one fsync for all), each exactly as
    /// [`LocalDb::record_scan`] would; returns their sequence numbers. For loading a large log
    /// at once (tests, a migration), not for the scan path: a verdict waits for its own commit.
    pub async fn record_scans(&self, scans: &[NewScan]) -> Result<Vec<i64>> {
        let mut seqs = Vec::with_capacity(scans.len());
        let mut tx = self.pool.begin().await?;
        for s in scans {
            seqs.push(insert_scan(&mut tx, s).await?);
        }
        tx.commit().await?;
        Ok(seqs)
    }
}

/// Writes one scan in `tx` (an online admit also raises the ticket's synced entry count);
/// returns its sequence number. The one INSERT behind `record_scan` and `record_scans`.
async fn insert_scan(tx: &mut sqlx::SqliteConnection, s: &NewScan) -> Result<i64> {
    let seq = sqlx::query(
        "INSERT INTO scans (scanned_at, gate_id, session_id, ticket_id, ticket_version, verdict, reason,
                            latitude, longitude, source, uploaded, direction, device_counter)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .bind(s.direction.as_str())
    .bind(s.device_counter.map(i64::from))
    .execute(&mut *tx)
    .await?
    .last_insert_rowid();
    if let (true, None, Some(ticket), Some(used)) = (s.online, s.reason, s.ticket_id, s.server_entries_used) {
        raise_entries(tx, ticket, used, s.session_id, s.direction).await?;
    }
    Ok(seq)
}
