//! The embedded SQLite backend: one database file in WAL mode.
//!
//! All writes go through a single connection (SQLite allows one writer at a time anyway), so
//! every write transaction is serialised without `SQLITE_BUSY` retries; reads use a separate
//! pool and never block on writers. `synchronous=FULL`: a commit the server acknowledged
//! survives a crash of the process or of the machine.

mod catalog;
mod checkin;
mod holds;
mod idempotency;
mod orders;
mod waiting_room;

use crate::model::*;
use crate::{Store, StoreError, StoreResult};
use admit_domain::{EventId, GateId, OrganiserId, PaymentState, SessionId, TicketId};
use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { writer, reader })
    }

    /// Closes both pools, flushing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_organiser(&self, name: &str) -> StoreResult<OrganiserId> {
        catalog::create_organiser(&self.writer, name).await
    }
    async fn add_staff_token(
        &self,
        organiser: OrganiserId,
        role: StaffRole,
        hash: [u8; 32],
        label: &str,
    ) -> StoreResult<()> {
        catalog::add_staff_token(&self.writer, organiser, role, hash, label).await
    }
    async fn staff_by_token(&self, hash: [u8; 32]) -> StoreResult<Option<Staff>> {
        catalog::staff_by_token(&self.reader, hash).await
    }
    async fn create_venue(&self, venue: NewVenue) -> StoreResult<Venue> {
        catalog::create_venue(&self.writer, venue).await
    }
    async fn gate(&self, id: GateId) -> StoreResult<Gate> {
        catalog::gate(&self.reader, id).await
    }
    async fn create_event(&self, event: NewEvent) -> StoreResult<EventId> {
        catalog::create_event(&self.writer, event).await
    }
    async fn list_events(&self) -> StoreResult<Vec<Event>> {
        catalog::list_events(&self.reader).await
    }
    async fn event(&self, id: EventId) -> StoreResult<EventDetail> {
        catalog::event(&self.reader, id).await
    }
    async fn session(&self, id: SessionId) -> StoreResult<Session> {
        catalog::session(&self.reader, id).await
    }
    async fn availability(&self, session: SessionId) -> StoreResult<Vec<GradeAvailability>> {
        catalog::availability(&self.reader, session).await
    }
    async fn seats(&self, session: SessionId) -> StoreResult<Vec<Seat>> {
        catalog::seats(&self.reader, session).await
    }
    async fn event_keys(&self, event: EventId) -> StoreResult<EventKeys> {
        catalog::event_keys(&self.reader, event).await
    }
    async fn public_keys(&self) -> StoreResult<Vec<(u32, [u8; 32])>> {
        catalog::public_keys(&self.reader).await
    }

    async fn create_hold(&self, hold: NewHold) -> StoreResult<Hold> {
        let mut tx = self.writer.begin().await?;
        holds::create(&mut tx, &hold).await?;
        let created = holds::load(&mut tx, &hold.id).await?;
        tx.commit().await?;
        Ok(created)
    }
    async fn hold(&self, id: &str) -> StoreResult<Hold> {
        let mut conn = self.reader.acquire().await?;
        holds::load(&mut conn, id).await
    }
    async fn cancel_hold(&self, id: &str, now_ms: i64) -> StoreResult<Hold> {
        let mut tx = self.writer.begin().await?;
        holds::cancel(&mut tx, id, now_ms).await?;
        let hold = holds::load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(hold)
    }
    async fn expire_holds(&self, now_ms: i64) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await?;
        let n = holds::expire_due(&mut tx, now_ms).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn begin_payment(&self, payment: NewPayment) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        orders::begin_payment(&mut tx, &payment).await?;
        tx.commit().await?;
        Ok(())
    }
    async fn settle_payment(
        &self,
        id: &str,
        state: PaymentState,
        detail: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        orders::settle_payment(&self.writer, id, state, detail, now_ms).await
    }
    async fn complete_order(&self, order: CompleteOrder) -> StoreResult<Order> {
        let mut tx = self.writer.begin().await?;
        let id = orders::complete(&mut tx, &order).await?;
        tx.commit().await?;
        let mut conn = self.writer.acquire().await?;
        orders::load_order(&mut conn, &id).await
    }
    async fn payment(&self, id: &str) -> StoreResult<Payment> {
        orders::payment(&self.reader, id).await
    }
    async fn payments_in_state(&self, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>> {
        orders::payments_in_state(&self.reader, state, before_ms).await
    }
    async fn order(&self, id: &str) -> StoreResult<Order> {
        let mut conn = self.reader.acquire().await?;
        orders::load_order(&mut conn, id).await
    }
    async fn ticket(&self, id: TicketId) -> StoreResult<Ticket> {
        orders::ticket(&self.reader, id).await
    }

    async fn manifest(&self, session: SessionId) -> StoreResult<Vec<ManifestRow>> {
        checkin::manifest(&self.reader, session).await
    }
    async fn check_in(&self, scan: ScanRequest) -> StoreResult<Admission> {
        let mut tx = self.writer.begin().await?;
        let verdict = checkin::check_in(&mut tx, &scan).await?;
        tx.commit().await?;
        verdict.map_err(StoreError::Denied)
    }
    async fn log_denied_scan(&self, scan: DeniedScan) -> StoreResult<()> {
        checkin::log_denied(&self.writer, &scan).await
    }

    async fn idempotency_start(
        &self,
        scope: &str,
        key: &str,
        hash: [u8; 32],
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<IdempotencyStart> {
        let mut tx = self.writer.begin().await?;
        let start = idempotency::start(&mut tx, scope, key, hash, now_ms, lease_ms).await?;
        tx.commit().await?;
        Ok(start)
    }
    async fn idempotency_finish(&self, scope: &str, key: &str, response: StoredResponse) -> StoreResult<()> {
        idempotency::finish(&self.writer, scope, key, &response).await
    }
    async fn idempotency_release(&self, scope: &str, key: &str) -> StoreResult<()> {
        idempotency::release(&self.writer, scope, key).await
    }

    async fn set_waiting_room(
        &self,
        event: EventId,
        config: Option<WaitingRoomConfig>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        waiting_room::set(&mut tx, event, config, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }
    async fn waiting_room(&self, event: EventId) -> StoreResult<Option<WaitingRoom>> {
        let mut conn = self.reader.acquire().await?;
        waiting_room::load(&mut conn, event).await
    }
    async fn queue_join(&self, join: QueueJoin) -> StoreResult<QueueEntry> {
        let mut tx = self.writer.begin().await?;
        let entry = waiting_room::join(&mut tx, &join).await?;
        tx.commit().await?;
        Ok(entry)
    }
    async fn queue_entry(&self, event: EventId, entry_id: &str, now_ms: i64) -> StoreResult<QueueEntry> {
        {
            let mut conn = self.reader.acquire().await?;
            if let Some(entry) = waiting_room::entry_read(&mut conn, event, entry_id, now_ms).await? {
                return Ok(entry);
            }
        }
        let mut tx = self.writer.begin().await?;
        let entry = waiting_room::entry_for_update(&mut tx, event, entry_id, now_ms).await?;
        tx.commit().await?;
        Ok(entry)
    }
}
