//! The embedded SQLite backend: one database file in WAL mode.
//!
//! All writes go through a single connection owned by a group-commit [`Writer`] (SQLite allows
//! one writer at a time anyway): the write operations waiting at any moment run together in one
//! `BEGIN IMMEDIATE … COMMIT`, each inside its own savepoint, so one fsync covers many of them
//! and a failing operation changes nothing. Reads use a separate pool and never block on
//! writers. `synchronous=FULL`, and no caller is answered before its batch has committed: a
//! write the server acknowledged survives a crash of the process or of the machine.

mod catalog;
mod checkin;
mod credential_policy;
mod gate_terminals;
mod holds;
mod idempotency;
mod orders;
mod phone;
mod staff_places;
mod waiting_room;

use crate::gate_terminals::*;
use crate::model::*;
use crate::phone::*;
use crate::{SessionWindow, StaffPlaces, Store, StoreError, StoreResult};
use admit_domain::{CredentialPolicy, EventId, GateId, OrganiserId, PaymentState, SessionId, TicketId, VenueId};
use admit_sqlite_batch::{BatchConfig, BatchStats, Writer};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection, SqlitePool};
use std::path::Path;
use std::time::Duration;

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
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
        let mut conn = SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("migrations/sqlite").run(&mut conn).await?;
        let writer = Writer::spawn(conn, BatchConfig::default());
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

    /// How many write transactions carried how many operations since the store was opened.
    pub fn write_stats(&self) -> BatchStats {
        self.writer.stats()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_organiser(&self, name: &str) -> StoreResult<OrganiserId> {
        let name = name.to_owned();
        self.writer.run(move |c| Box::pin(async move { catalog::create_organiser(c, &name).await })).await
    }
    async fn add_staff_token(
        &self,
        organiser: OrganiserId,
        role: StaffRole,
        hash: [u8; 32],
        label: &str,
    ) -> StoreResult<()> {
        let label = label.to_owned();
        self.writer
            .run(move |c| Box::pin(async move { catalog::add_staff_token(c, organiser, role, hash, &label).await }))
            .await
    }
    async fn staff_by_token(&self, hash: [u8; 32]) -> StoreResult<Option<Staff>> {
        catalog::staff_by_token(&self.reader, hash).await
    }
    async fn create_venue(&self, venue: NewVenue) -> StoreResult<Venue> {
        self.writer.run(move |c| Box::pin(catalog::create_venue(c, venue))).await
    }
    async fn gate(&self, id: GateId) -> StoreResult<Gate> {
        catalog::gate(&self.reader, id).await
    }
    async fn create_event(&self, event: NewEvent) -> StoreResult<EventId> {
        self.writer.run(move |c| Box::pin(catalog::create_event(c, event))).await
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
        self.writer
            .run(move |c| {
                Box::pin(async move {
                    holds::create(c, &hold).await?;
                    holds::load(c, &hold.id).await
                })
            })
            .await
    }
    async fn hold(&self, id: &str) -> StoreResult<Hold> {
        let mut conn = self.reader.acquire().await?;
        holds::load(&mut conn, id).await
    }
    async fn cancel_hold(&self, id: &str, now_ms: i64) -> StoreResult<Hold> {
        let id = id.to_owned();
        self.writer
            .run(move |c| {
                Box::pin(async move {
                    holds::cancel(c, &id, now_ms).await?;
                    holds::load(c, &id).await
                })
            })
            .await
    }
    async fn expire_holds(&self, now_ms: i64) -> StoreResult<u64> {
        self.writer.run(move |c| Box::pin(holds::expire_due(c, now_ms))).await
    }

    async fn begin_payment(&self, payment: NewPayment) -> StoreResult<()> {
        self.writer.run(move |c| Box::pin(async move { orders::begin_payment(c, &payment).await })).await
    }
    async fn settle_payment(
        &self,
        id: &str,
        state: PaymentState,
        detail: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (id, detail) = (id.to_owned(), detail.map(str::to_owned));
        self.writer
            .run(move |c| {
                Box::pin(async move { orders::settle_payment(c, &id, state, detail.as_deref(), now_ms).await })
            })
            .await
    }
    async fn complete_order(&self, order: CompleteOrder) -> StoreResult<Order> {
        self.writer
            .run(move |c| {
                Box::pin(async move {
                    let id = orders::complete(c, &order).await?;
                    orders::load_order(c, &id).await
                })
            })
            .await
    }
    async fn payment(&self, id: &str) -> StoreResult<Payment> {
        let mut conn = self.reader.acquire().await?;
        orders::payment(&mut conn, id).await
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
        // The denial is logged, so it must commit: the verdict travels as the `Ok` value.
        let verdict = self.writer.run(move |c| Box::pin(async move { checkin::check_in(c, &scan).await })).await?;
        verdict.map_err(StoreError::Denied)
    }
    async fn log_denied_scan(&self, scan: DeniedScan) -> StoreResult<()> {
        self.writer.run(move |c| Box::pin(async move { checkin::log_denied(c, &scan).await })).await
    }

    async fn idempotency_start(
        &self,
        scope: &str,
        key: &str,
        hash: [u8; 32],
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<IdempotencyStart> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.writer
            .run(move |c| Box::pin(async move { idempotency::start(c, &scope, &key, hash, now_ms, lease_ms).await }))
            .await
    }
    async fn idempotency_finish(&self, scope: &str, key: &str, response: StoredResponse) -> StoreResult<()> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.writer.run(move |c| Box::pin(async move { idempotency::finish(c, &scope, &key, &response).await })).await
    }
    async fn idempotency_release(&self, scope: &str, key: &str) -> StoreResult<()> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.writer.run(move |c| Box::pin(async move { idempotency::release(c, &scope, &key).await })).await
    }

    async fn set_waiting_room(
        &self,
        event: EventId,
        config: Option<WaitingRoomConfig>,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.writer.run(move |c| Box::pin(async move { waiting_room::set(c, event, config, now_ms).await })).await
    }
    async fn waiting_room(&self, event: EventId) -> StoreResult<Option<WaitingRoom>> {
        let mut conn = self.reader.acquire().await?;
        waiting_room::load(&mut conn, event).await
    }
    async fn queue_join(&self, join: QueueJoin) -> StoreResult<QueueEntry> {
        self.writer.run(move |c| Box::pin(async move { waiting_room::join(c, &join).await })).await
    }
    async fn queue_entry(&self, event: EventId, entry_id: &str, now_ms: i64) -> StoreResult<QueueEntry> {
        {
            let mut conn = self.reader.acquire().await?;
            if let Some(entry) = waiting_room::entry_read(&mut conn, event, entry_id, now_ms).await? {
                return Ok(entry);
            }
        }
        let entry_id = entry_id.to_owned();
        self.writer
            .run(move |c| Box::pin(async move { waiting_room::entry_for_update(c, event, &entry_id, now_ms).await }))
            .await
    }

    async fn credential_policy(&self, event: EventId) -> StoreResult<CredentialPolicy> {
        let mut conn = self.reader.acquire().await?;
        credential_policy::load(&mut conn, event).await
    }
    async fn set_credential_policy(&self, event: EventId, policy: CredentialPolicy) -> StoreResult<()> {
        self.writer.run(move |c| Box::pin(async move { credential_policy::set(c, event, policy).await })).await
    }

    async fn staff_places(&self, organiser: OrganiserId, window: SessionWindow) -> StoreResult<StaffPlaces> {
        staff_places::staff_places(&self.reader, organiser, window).await
    }

    async fn create_login_link(&self, link: NewLoginLink) -> StoreResult<()> {
        self.writer.run(move |c| Box::pin(async move { phone::create_login_link(c, &link).await })).await
    }
    async fn redeem_login_link(
        &self,
        token_hash: [u8; 32],
        session_hash: [u8; 32],
        now_ms: i64,
    ) -> StoreResult<LoginRedemption> {
        self.writer.run(move |c| Box::pin(phone::redeem_login_link(c, token_hash, session_hash, now_ms))).await
    }
    async fn buyer_tickets(&self, session_hash: [u8; 32]) -> StoreResult<Option<Vec<TicketView>>> {
        phone::buyer_tickets(&self.reader, session_hash).await
    }
    async fn buyer_ticket(&self, session_hash: [u8; 32], ticket: TicketId) -> StoreResult<TicketView> {
        phone::buyer_ticket(&self.reader, session_hash, ticket).await
    }
    async fn ticket_view(&self, ticket: TicketId) -> StoreResult<TicketView> {
        phone::ticket_view(&self.reader, ticket).await
    }
    async fn bind_device(&self, bind: BindDevice) -> StoreResult<BindOutcome> {
        self.writer.run(move |c| Box::pin(async move { phone::bind_device(c, &bind).await })).await
    }
    async fn device_bindings(&self, ticket: TicketId) -> StoreResult<Vec<DeviceBindingLog>> {
        phone::device_bindings(&self.reader, ticket).await
    }
    async fn inspect_ticket(&self, inspect: InspectTicket) -> StoreResult<Inspected> {
        self.writer.run(move |c| Box::pin(async move { phone::inspect(c, &inspect).await })).await
    }
    async fn inspections(&self, ticket: TicketId) -> StoreResult<Vec<InspectionLog>> {
        phone::inspections(&self.reader, ticket).await
    }
    async fn enrol_gate_device(&self, device: NewGateDevice) -> StoreResult<GateDevice> {
        self.writer.run(move |c| Box::pin(async move { gate_terminals::enrol(c, &device).await })).await
    }
    async fn gate_device_by_token(&self, hash: [u8; 32]) -> StoreResult<Option<GateDevice>> {
        gate_terminals::device_by_token(&self.reader, hash).await
    }
    async fn gate_device(&self, id: GateDeviceId) -> StoreResult<GateDevice> {
        let mut conn = self.reader.acquire().await?;
        gate_terminals::device(&mut conn, id).await
    }
    async fn revoke_gate_device(&self, id: GateDeviceId, now_ms: i64) -> StoreResult<GateDevice> {
        self.writer.run(move |c| Box::pin(gate_terminals::revoke(c, id, now_ms))).await
    }
    async fn venue_sessions(&self, venue: VenueId, ended_after_ms: i64) -> StoreResult<Vec<Session>> {
        gate_terminals::venue_sessions(&self.reader, venue, ended_after_ms).await
    }
    async fn ticket_changes(&self, query: TicketChangesQuery) -> StoreResult<TicketChanges> {
        gate_terminals::ticket_changes(&self.reader, &query).await
    }
    async fn upload_gate_scans(
        &self,
        device: GateDeviceId,
        scans: Vec<UploadedScan>,
        now_ms: i64,
    ) -> StoreResult<Vec<UploadResult>> {
        self.writer.run(move |c| Box::pin(async move { gate_terminals::upload(c, device, &scans, now_ms).await })).await
    }
    async fn conflicts(&self, session: SessionId) -> StoreResult<Vec<Conflict>> {
        gate_terminals::conflicts(&self.reader, session).await
    }
    async fn entries(&self, session: SessionId, bucket_ms: i64) -> StoreResult<Vec<EntryCount>> {
        gate_terminals::entries(&self.reader, session, bucket_ms).await
    }
}
