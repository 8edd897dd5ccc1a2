//! The embedded SQLite backend: one database file in WAL mode.
//!
//! All writes go through a single connection owned by a group-commit [`Writer`] thread (SQLite
//! allows one writer at a time anyway): the write operations waiting at any moment run together
//! in one `BEGIN IMMEDIATE … COMMIT`, each inside its own savepoint, so one fsync covers many of
//! them and a failing operation changes nothing. Reads run on a few reader threads with
//! connections of their own and never block on writers. No caller is answered before its
//! batch's commit is on stable storage (the writer's syncer thread fsyncs the WAL first:
//! `admit_sqlite_batch`), so a write the server acknowledged survives a crash of the process
//! or of the machine.
//!
//! Statements run synchronously through rusqlite on those threads (one hand-off per operation,
//! not per statement); migrations are applied with sqlx's migrator when the store opens.

mod catalog;
mod checkin;
mod credential_policy;
mod gate_terminals;
mod holds;
mod idempotency;
mod orders;
mod phone;
mod sql;
mod staff_places;
mod waiting_room;

use crate::gate_terminals::*;
use crate::model::*;
use crate::phone::*;
use crate::{SessionWindow, StaffPlaces, Store, StoreError, StoreResult};
use admit_domain::{CredentialPolicy, EventId, GateId, OrganiserId, PaymentState, SessionId, TicketId, VenueId};
use admit_sqlite_batch::{BatchConfig, BatchStats, Readers, Writer};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

/// Reader threads (each with its own connection).
const READERS: usize = 4;

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    reader: Readers,
}

/// The settings every connection gets: WAL, durable commits, foreign keys, a patient lock wait.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = memory;
         PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 10000;",
    )?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

/// How many migrations the database has applied.
async fn applied_migrations(c: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success").fetch_one(c).await
}

/// Refuses a database with a row whose referenced row is missing (`PRAGMA foreign_key_check`
/// reads every reference, so it runs only after migrations, which run with foreign keys off).
async fn check_references(c: &mut sqlx::SqliteConnection) -> StoreResult<()> {
    let Some(row) = sqlx::query("PRAGMA foreign_key_check").fetch_optional(c).await? else { return Ok(()) };
    let (table, parent): (String, String) = (row.try_get(0)?, row.try_get(2)?);
    Err(StoreError::Other(
        format!("the database has a row of {table} whose {parent} row is missing: restore it from a backup").into(),
    ))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // Off while migrating, as SQLite's table rebuild requires (migration 0009); when a
            // migration ran, the check below proves every reference still holds.
            .foreign_keys(false)
            .busy_timeout(Duration::from_secs(10));
        let mut migrator = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await?;
        // Unreadable before the first migration (no table yet): then the check runs.
        let applied_before = applied_migrations(&mut migrator).await.ok();
        sqlx::migrate!("migrations/sqlite").run(&mut migrator).await?;
        if applied_before != Some(applied_migrations(&mut migrator).await?) {
            check_references(&mut migrator).await?;
        }
        sqlx::Connection::close(migrator).await?;

        let path = path.to_owned();
        tokio::task::spawn_blocking(move || -> StoreResult<SqliteStore> {
            let conn = Connection::open(&path)?;
            configure(&conn)?;
            let writer = Writer::spawn(conn, BatchConfig::default()).map_err(|e| StoreError::Other(Box::new(e)))?;
            let readers = (0..READERS)
                .map(|_| {
                    let conn = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    conn.busy_timeout(Duration::from_secs(10))?;
                    conn.set_prepared_statement_cache_capacity(256);
                    Ok(conn)
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let reader = Readers::spawn(readers).map_err(|e| StoreError::Other(Box::new(e)))?;
            Ok(SqliteStore { writer, reader })
        })
        .await
        .map_err(|e| StoreError::Other(Box::new(e)))?
    }

    /// Finishes the write in progress and closes the writer connection (the WAL is
    /// checkpointed); reader connections close when the last handle is dropped.
    pub async fn close(&self) {
        self.writer.close().await;
    }

    /// How many write transactions carried how many operations since the store was opened.
    pub fn write_stats(&self) -> BatchStats {
        self.writer.stats()
    }

    /// Runs `op` in the writer's next batch.
    async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.writer.run(op).await
    }

    /// Runs `op` on a reader connection.
    async fn read<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.reader.run(op).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_organiser(&self, name: &str) -> StoreResult<OrganiserId> {
        let name = name.to_owned();
        self.write(move |c| catalog::create_organiser(c, &name)).await
    }
    async fn add_staff_token(
        &self,
        organiser: OrganiserId,
        role: StaffRole,
        hash: [u8; 32],
        label: &str,
    ) -> StoreResult<()> {
        let label = label.to_owned();
        self.write(move |c| catalog::add_staff_token(c, organiser, role, hash, &label)).await
    }
    async fn staff_by_token(&self, hash: [u8; 32]) -> StoreResult<Option<Staff>> {
        self.read(move |c| catalog::staff_by_token(c, hash)).await
    }
    async fn create_venue(&self, venue: NewVenue) -> StoreResult<Venue> {
        self.write(move |c| catalog::create_venue(c, venue)).await
    }
    async fn gate(&self, id: GateId) -> StoreResult<Gate> {
        self.read(move |c| catalog::gate(c, id)).await
    }
    async fn create_event(&self, event: NewEvent) -> StoreResult<EventId> {
        self.write(move |c| catalog::create_event(c, event)).await
    }
    async fn list_events(&self) -> StoreResult<Vec<Event>> {
        self.read(catalog::list_events).await
    }
    async fn event(&self, id: EventId) -> StoreResult<EventDetail> {
        self.read(move |c| catalog::event(c, id)).await
    }
    async fn session(&self, id: SessionId) -> StoreResult<Session> {
        self.read(move |c| catalog::session(c, id)).await
    }
    async fn availability(&self, session: SessionId) -> StoreResult<Vec<GradeAvailability>> {
        self.read(move |c| catalog::availability(c, session)).await
    }
    async fn seats(&self, session: SessionId) -> StoreResult<Vec<Seat>> {
        self.read(move |c| catalog::seats(c, session)).await
    }
    async fn event_keys(&self, event: EventId) -> StoreResult<EventKeys> {
        self.read(move |c| catalog::event_keys(c, event)).await
    }
    async fn public_keys(&self) -> StoreResult<Vec<(u32, [u8; 32])>> {
        self.read(catalog::public_keys).await
    }

    async fn create_hold(&self, hold: NewHold) -> StoreResult<Hold> {
        self.write(move |c| holds::create(c, &hold)).await
    }
    async fn hold(&self, id: &str) -> StoreResult<Hold> {
        let id = id.to_owned();
        self.read(move |c| holds::load(c, &id)).await
    }
    async fn cancel_hold(&self, id: &str, now_ms: i64) -> StoreResult<Hold> {
        let id = id.to_owned();
        self.write(move |c| {
            holds::cancel(c, &id, now_ms)?;
            holds::load(c, &id)
        })
        .await
    }
    async fn expire_holds(&self, now_ms: i64) -> StoreResult<u64> {
        self.write(move |c| holds::expire_due(c, now_ms)).await
    }

    async fn begin_payment(&self, payment: NewPayment) -> StoreResult<()> {
        self.write(move |c| orders::begin_payment(c, &payment)).await
    }
    async fn settle_payment(
        &self,
        id: &str,
        state: PaymentState,
        detail: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (id, detail) = (id.to_owned(), detail.map(str::to_owned));
        self.write(move |c| orders::settle_payment(c, &id, state, detail.as_deref(), now_ms)).await
    }
    async fn complete_order(&self, order: CompleteOrder) -> StoreResult<Order> {
        self.write(move |c| {
            let done = orders::complete(c, &order)?;
            let id = match &done {
                orders::Completed::Issued(o) => &o.id,
                orders::Completed::Already(id) => id,
            };
            if let Some(link) = &order.login_link {
                phone::create_login_link(c, &link.for_order(id, order.now_ms))?;
            }
            match done {
                orders::Completed::Issued(o) => Ok(o),
                orders::Completed::Already(id) => orders::load_order(c, &id),
            }
        })
        .await
    }
    async fn payment(&self, id: &str) -> StoreResult<Payment> {
        let id = id.to_owned();
        self.read(move |c| orders::payment(c, &id)).await
    }
    async fn payments_in_state(&self, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>> {
        self.read(move |c| orders::payments_in_state(c, state, before_ms)).await
    }
    async fn order(&self, id: &str) -> StoreResult<Order> {
        let id = id.to_owned();
        self.read(move |c| orders::load_order(c, &id)).await
    }
    async fn ticket(&self, id: TicketId) -> StoreResult<Ticket> {
        self.read(move |c| orders::ticket(c, id)).await
    }

    async fn manifest(&self, session: SessionId) -> StoreResult<Vec<ManifestRow>> {
        self.read(move |c| checkin::manifest(c, session)).await
    }
    async fn check_in(&self, scan: ScanRequest) -> StoreResult<Admission> {
        // The denial is logged, so it must commit: the verdict travels as the `Ok` value.
        let verdict = self.write(move |c| checkin::check_in(c, &scan)).await?;
        verdict.map_err(StoreError::Denied)
    }
    async fn log_denied_scan(&self, scan: DeniedScan) -> StoreResult<()> {
        self.write(move |c| checkin::log_denied(c, &scan)).await
    }

    async fn idempotency_start(&self, claim: IdempotencyClaim) -> StoreResult<IdempotencyStart> {
        self.write(move |c| idempotency::start(c, &claim)).await
    }
    async fn idempotency_finish(&self, scope: &str, key: &str, response: StoredResponse) -> StoreResult<()> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.write(move |c| idempotency::finish(c, &scope, &key, &response)).await
    }
    async fn idempotency_release(&self, scope: &str, key: &str) -> StoreResult<()> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.write(move |c| idempotency::release(c, &scope, &key)).await
    }
    async fn idempotency_purge(&self, now_ms: i64) -> StoreResult<u64> {
        self.write(move |c| idempotency::purge(c, now_ms)).await
    }

    async fn set_waiting_room(
        &self,
        event: EventId,
        config: Option<WaitingRoomConfig>,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.write(move |c| waiting_room::set(c, event, config, now_ms)).await
    }
    async fn waiting_room(&self, event: EventId) -> StoreResult<Option<WaitingRoom>> {
        self.read(move |c| waiting_room::load(c, event)).await
    }
    async fn queue_join(&self, join: QueueJoin) -> StoreResult<QueueEntry> {
        self.write(move |c| waiting_room::join(c, &join)).await
    }
    async fn queue_entry(&self, event: EventId, entry_id: &str, now_ms: i64) -> StoreResult<QueueEntry> {
        let id = entry_id.to_owned();
        if let Some(entry) = self.read(move |c| waiting_room::entry_read(c, event, &id, now_ms)).await? {
            return Ok(entry);
        }
        let id = entry_id.to_owned();
        self.write(move |c| waiting_room::entry_for_update(c, event, &id, now_ms)).await
    }

    async fn credential_policy(&self, event: EventId) -> StoreResult<CredentialPolicy> {
        self.read(move |c| credential_policy::load(c, event)).await
    }
    async fn set_credential_policy(&self, event: EventId, policy: CredentialPolicy) -> StoreResult<()> {
        self.write(move |c| credential_policy::set(c, event, policy)).await
    }

    async fn staff_places(&self, organiser: OrganiserId, window: SessionWindow) -> StoreResult<StaffPlaces> {
        self.read(move |c| staff_places::staff_places(c, organiser, window)).await
    }

    async fn create_login_link(&self, link: NewLoginLink) -> StoreResult<()> {
        self.write(move |c| phone::create_login_link(c, &link)).await
    }
    async fn purge_login_links(&self, expired_by_ms: i64, used_by_ms: i64) -> StoreResult<u64> {
        self.write(move |c| phone::purge_login_links(c, expired_by_ms, used_by_ms)).await
    }
    async fn redeem_login_link(
        &self,
        token_hash: [u8; 32],
        session_hash: [u8; 32],
        now_ms: i64,
    ) -> StoreResult<LoginRedemption> {
        self.write(move |c| phone::redeem_login_link(c, token_hash, session_hash, now_ms)).await
    }
    async fn buyer_tickets(&self, session_hash: [u8; 32]) -> StoreResult<Option<Vec<TicketView>>> {
        self.read(move |c| phone::buyer_tickets(c, session_hash)).await
    }
    async fn buyer_ticket(&self, session_hash: [u8; 32], ticket: TicketId) -> StoreResult<TicketView> {
        self.read(move |c| phone::buyer_ticket(c, session_hash, ticket)).await
    }
    async fn ticket_view(&self, ticket: TicketId) -> StoreResult<TicketView> {
        self.read(move |c| phone::ticket_view(c, ticket)).await
    }
    async fn bind_device(&self, bind: BindDevice) -> StoreResult<BindOutcome> {
        self.write(move |c| phone::bind_device(c, &bind)).await
    }
    async fn device_bindings(&self, ticket: TicketId) -> StoreResult<Vec<DeviceBindingLog>> {
        self.read(move |c| phone::device_bindings(c, ticket)).await
    }
    async fn inspect_ticket(&self, inspect: InspectTicket) -> StoreResult<Inspected> {
        self.write(move |c| phone::inspect(c, &inspect)).await
    }
    async fn inspections(&self, ticket: TicketId) -> StoreResult<Vec<InspectionLog>> {
        self.read(move |c| phone::inspections(c, ticket)).await
    }
    async fn enrol_gate_device(&self, device: NewGateDevice) -> StoreResult<GateDevice> {
        self.write(move |c| gate_terminals::enrol(c, &device)).await
    }
    async fn gate_device_by_token(&self, hash: [u8; 32]) -> StoreResult<Option<GateDevice>> {
        self.read(move |c| gate_terminals::device_by_token(c, hash)).await
    }
    async fn gate_device(&self, id: GateDeviceId) -> StoreResult<GateDevice> {
        self.read(move |c| gate_terminals::device(c, id)).await
    }
    async fn revoke_gate_device(&self, id: GateDeviceId, now_ms: i64) -> StoreResult<GateDevice> {
        self.write(move |c| gate_terminals::revoke(c, id, now_ms)).await
    }
    async fn venue_sessions(&self, venue: VenueId, ended_after_ms: i64) -> StoreResult<Vec<Session>> {
        self.read(move |c| gate_terminals::venue_sessions(c, venue, ended_after_ms)).await
    }
    async fn ticket_changes(&self, query: TicketChangesQuery) -> StoreResult<TicketChanges> {
        self.read(move |c| gate_terminals::ticket_changes(c, &query)).await
    }
    async fn upload_gate_scans(
        &self,
        device: GateDeviceId,
        scans: Vec<UploadedScan>,
        now_ms: i64,
    ) -> StoreResult<Vec<UploadResult>> {
        self.write(move |c| gate_terminals::upload(c, device, &scans, now_ms)).await
    }
    async fn conflicts(&self, session: SessionId) -> StoreResult<Vec<Conflict>> {
        self.read(move |c| gate_terminals::conflicts(c, session)).await
    }
    async fn entries(&self, session: SessionId, bucket_ms: i64) -> StoreResult<Vec<EntryCount>> {
        self.read(move |c| gate_terminals::entries(c, session, bucket_ms)).await
    }
}
