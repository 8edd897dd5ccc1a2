//! The PostgreSQL backend: several stateless `admit serve` nodes share one database.
//!
//! Isolation is READ COMMITTED; correctness comes from guarded conditional updates (a seat
//! is claimed only `WHERE state = 'free'`, units only `WHERE total - taken >= n`) and row
//! locks taken in one global order: hold → payment → seats → inventory shards (grades
//! ascending; `shards.rs`). Every write transaction runs again, transparently, on a
//! serialization failure or a deadlock (`retry.rs`). The on-sale's hot paths (a GA hold,
//! reading the hold to pay for, beginning a payment, completing an order) are one statement
//! each — functions of migration 0009 and a CTE, with the same steps and locks — and under
//! load they are written in groups (`group_commit.rs`, `grouped.rs`, migration 0010): the
//! requests that arrive while a group is being written go together in the next one, one
//! statement and one commit for all. With `synchronous_commit = on`
//! (PostgreSQL's default) a commit the server acknowledged is in the WAL on disk and survives
//! a crash of PostgreSQL or the machine.

mod catalog;
mod checkin;
mod credential_policy;
mod gate_terminals;
mod group_commit;
mod grouped;
mod grouped_seats;
mod holds;
mod idempotency;
mod orders;
mod phone;
pub(crate) mod retry;
#[cfg(feature = "testing")]
pub mod scratch;
mod shards;
mod staff_places;
mod waiting_room;

use crate::gate_terminals::*;
use crate::model::*;
use crate::phone::*;
use crate::rules::check_quantity;
use crate::{SessionWindow, StaffPlaces, Store, StoreError, StoreResult};
use admit_domain::{CredentialPolicy, EventId, GateId, OrganiserId, PaymentState, SessionId, TicketId, VenueId};
use async_trait::async_trait;
use group_commit::Group;
use retry::transaction;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::Duration;

/// PostgreSQL-backed [`Store`]: one connection pool, shared by reads and writes, and the
/// group-commit queues of the on-sale's hot paths.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    groups: Arc<Groups>,
}

/// Group-commit queues (`group_commit.rs`): how many groups of a kind run at once, and the
/// most requests one group takes.
struct Groups {
    reads: Group<String, Hold>,
    holds: Group<grouped::UnitsHold, Hold>,
    best: Group<NewHold, Hold>,
    payments: Group<NewPayment, ()>,
    orders: Group<CompleteOrder, Order>,
}

const GROUP_SLOTS: usize = 2;
const GROUP_MOST: usize = 128;

impl Groups {
    fn start(pool: &PgPool) -> Groups {
        let p = pool.clone();
        let reads = Group::start(GROUP_SLOTS, GROUP_MOST, move |r| {
            let p = p.clone();
            async move { grouped::read_holds(&p, r).await }
        });
        let p = pool.clone();
        let holds = Group::start(GROUP_SLOTS, GROUP_MOST, move |r| {
            let p = p.clone();
            async move { grouped::hold_units(&p, r).await }
        });
        let p = pool.clone();
        let best = Group::start(GROUP_SLOTS, GROUP_MOST, move |r| {
            let p = p.clone();
            async move { grouped_seats::hold_best(&p, r).await }
        });
        let p = pool.clone();
        let payments = Group::start(GROUP_SLOTS, GROUP_MOST, move |r| {
            let p = p.clone();
            async move { grouped::begin_payments(&p, r).await }
        });
        let p = pool.clone();
        let orders = Group::start(GROUP_SLOTS, GROUP_MOST, move |r| {
            let p = p.clone();
            async move { grouped::complete_orders(&p, r).await }
        });
        Groups { reads, holds, best, payments, orders }
    }
}

impl PgStore {
    /// Connects with a pool of 16 connections and applies the migrations.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        Self::connect_with(url, 16).await
    }

    /// Connects with at most `max_connections` connections (tests keep this small: the
    /// server allows 100 in all) and applies the migrations. Several nodes starting at once
    /// are fine: sqlx migrates under an advisory lock.
    pub async fn connect_with(url: &str, max_connections: u32) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        let groups = Arc::new(Groups::start(&pool));
        Ok(PgStore { pool, groups })
    }

    /// How many requests were written (or read) in groups of more than one so far, of all
    /// kinds (`group_commit.rs`): zero on an idle server, most of them during an on-sale.
    pub fn grouped_requests(&self) -> u64 {
        let g = &self.groups;
        g.reads.grouped() + g.holds.grouped() + g.best.grouped() + g.payments.grouped() + g.orders.grouped()
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    async fn create_organiser(&self, name: &str) -> StoreResult<OrganiserId> {
        catalog::create_organiser(&self.pool, name).await
    }
    async fn add_staff_token(
        &self,
        organiser: OrganiserId,
        role: StaffRole,
        hash: [u8; 32],
        label: &str,
    ) -> StoreResult<()> {
        catalog::add_staff_token(&self.pool, organiser, role, hash, label).await
    }
    async fn staff_by_token(&self, hash: [u8; 32]) -> StoreResult<Option<Staff>> {
        catalog::staff_by_token(&self.pool, hash).await
    }
    async fn create_venue(&self, venue: NewVenue) -> StoreResult<Venue> {
        transaction!(self.pool, |conn| catalog::create_venue(conn, &venue).await?)
    }
    async fn gate(&self, id: GateId) -> StoreResult<Gate> {
        catalog::gate(&self.pool, id).await
    }
    async fn create_event(&self, event: NewEvent) -> StoreResult<EventId> {
        transaction!(self.pool, |conn| catalog::create_event(conn, &event).await?)
    }
    async fn list_events(&self) -> StoreResult<Vec<Event>> {
        catalog::list_events(&self.pool).await
    }
    async fn event(&self, id: EventId) -> StoreResult<EventDetail> {
        catalog::event(&self.pool, id).await
    }
    async fn session(&self, id: SessionId) -> StoreResult<Session> {
        catalog::session(&self.pool, id).await
    }
    async fn availability(&self, session: SessionId) -> StoreResult<Vec<GradeAvailability>> {
        catalog::availability(&self.pool, session).await
    }
    async fn seats(&self, session: SessionId) -> StoreResult<Vec<Seat>> {
        catalog::seats(&self.pool, session).await
    }
    async fn event_keys(&self, event: EventId) -> StoreResult<EventKeys> {
        catalog::event_keys(&self.pool, event).await
    }
    async fn public_keys(&self) -> StoreResult<Vec<(u32, [u8; 32])>> {
        catalog::public_keys(&self.pool).await
    }

    async fn create_hold(&self, hold: NewHold) -> StoreResult<Hold> {
        if let HoldRequest::Units { grade, quantity } = hold.request
            && check_quantity(quantity).is_ok()
        {
            return self.groups.holds.submit(grouped::UnitsHold { hold, grade, quantity }).await;
        }
        if let HoldRequest::BestAvailable { .. } = hold.request {
            return self.groups.best.submit(hold).await;
        }
        let mut conn = self.pool.acquire().await?;
        holds::create(&mut conn, &hold).await
    }
    async fn hold(&self, id: &str) -> StoreResult<Hold> {
        self.groups.reads.submit(id.to_owned()).await
    }
    async fn cancel_hold(&self, id: &str, now_ms: i64) -> StoreResult<Hold> {
        transaction!(self.pool, |conn| {
            holds::cancel(conn, id, now_ms).await?;
            holds::load(conn, id).await?
        })
    }
    async fn expire_holds(&self, now_ms: i64) -> StoreResult<u64> {
        transaction!(self.pool, |conn| holds::expire_due(conn, now_ms).await?)
    }

    async fn begin_payment(&self, payment: NewPayment) -> StoreResult<()> {
        self.groups.payments.submit(payment).await
    }
    async fn settle_payment(
        &self,
        id: &str,
        state: PaymentState,
        detail: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        transaction!(self.pool, |conn| orders::settle_payment(conn, id, state, detail, now_ms).await?)
    }
    async fn complete_order(&self, order: CompleteOrder) -> StoreResult<Order> {
        self.groups.orders.submit(order).await
    }
    async fn payment(&self, id: &str) -> StoreResult<Payment> {
        orders::payment(&self.pool, id).await
    }
    async fn payments_in_state(&self, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>> {
        orders::payments_in_state(&self.pool, state, before_ms).await
    }
    async fn order(&self, id: &str) -> StoreResult<Order> {
        let mut conn = self.pool.acquire().await?;
        orders::load_order(&mut conn, id).await
    }
    async fn ticket(&self, id: TicketId) -> StoreResult<Ticket> {
        orders::ticket(&self.pool, id).await
    }

    async fn manifest(&self, session: SessionId) -> StoreResult<Vec<ManifestRow>> {
        checkin::manifest(&self.pool, session).await
    }
    async fn check_in(&self, scan: ScanRequest) -> StoreResult<Admission> {
        let verdict = transaction!(self.pool, |conn| checkin::check_in(conn, &scan).await?)?;
        verdict.map_err(StoreError::Denied)
    }
    async fn log_denied_scan(&self, scan: DeniedScan) -> StoreResult<()> {
        checkin::log_denied(&self.pool, &scan).await
    }

    async fn idempotency_start(&self, claim: IdempotencyClaim) -> StoreResult<IdempotencyStart> {
        transaction!(self.pool, |conn| idempotency::start(conn, &claim).await?)
    }
    async fn idempotency_finish(&self, scope: &str, key: &str, response: StoredResponse) -> StoreResult<()> {
        idempotency::finish(&self.pool, scope, key, &response).await
    }
    async fn idempotency_release(&self, scope: &str, key: &str) -> StoreResult<()> {
        idempotency::release(&self.pool, scope, key).await
    }
    async fn idempotency_purge(&self, now_ms: i64) -> StoreResult<u64> {
        idempotency::purge(&self.pool, now_ms).await
    }

    async fn set_waiting_room(
        &self,
        event: EventId,
        config: Option<WaitingRoomConfig>,
        now_ms: i64,
    ) -> StoreResult<()> {
        transaction!(self.pool, |conn| waiting_room::set(conn, event, config, now_ms).await?)
    }
    async fn waiting_room(&self, event: EventId) -> StoreResult<Option<WaitingRoom>> {
        let mut conn = self.pool.acquire().await?;
        waiting_room::load(&mut conn, event).await
    }
    async fn queue_join(&self, join: QueueJoin) -> StoreResult<QueueEntry> {
        transaction!(self.pool, |conn| waiting_room::join(conn, &join).await?)
    }
    async fn queue_entry(&self, event: EventId, entry_id: &str, now_ms: i64) -> StoreResult<QueueEntry> {
        {
            let mut conn = self.pool.acquire().await?;
            if let Some(entry) = waiting_room::entry_read(&mut conn, event, entry_id, now_ms).await? {
                return Ok(entry);
            }
        }
        transaction!(self.pool, |conn| waiting_room::entry_for_update(conn, event, entry_id, now_ms).await?)
    }

    async fn credential_policy(&self, event: EventId) -> StoreResult<CredentialPolicy> {
        let mut conn = self.pool.acquire().await?;
        credential_policy::load(&mut conn, event).await
    }
    async fn set_credential_policy(&self, event: EventId, policy: CredentialPolicy) -> StoreResult<()> {
        transaction!(self.pool, |conn| credential_policy::set(conn, event, policy).await?)
    }

    async fn staff_places(&self, organiser: OrganiserId, window: SessionWindow) -> StoreResult<StaffPlaces> {
        staff_places::staff_places(&self.pool, organiser, window).await
    }

    async fn create_login_link(&self, link: NewLoginLink) -> StoreResult<()> {
        transaction!(self.pool, |conn| phone::create_login_link(conn, &link).await?)
    }
    async fn purge_login_links(&self, expired_by_ms: i64, used_by_ms: i64) -> StoreResult<u64> {
        phone::purge_login_links(&self.pool, expired_by_ms, used_by_ms).await
    }
    async fn redeem_login_link(
        &self,
        token_hash: [u8; 32],
        session_hash: [u8; 32],
        now_ms: i64,
    ) -> StoreResult<LoginRedemption> {
        transaction!(self.pool, |conn| phone::redeem_login_link(conn, token_hash, session_hash, now_ms).await?)
    }
    async fn buyer_tickets(&self, session_hash: [u8; 32]) -> StoreResult<Option<Vec<TicketView>>> {
        phone::buyer_tickets(&self.pool, session_hash).await
    }
    async fn buyer_ticket(&self, session_hash: [u8; 32], ticket: TicketId) -> StoreResult<TicketView> {
        phone::buyer_ticket(&self.pool, session_hash, ticket).await
    }
    async fn ticket_view(&self, ticket: TicketId) -> StoreResult<TicketView> {
        phone::ticket_view(&self.pool, ticket).await
    }
    async fn bind_device(&self, bind: BindDevice) -> StoreResult<BindOutcome> {
        transaction!(self.pool, |conn| phone::bind_device(conn, &bind).await?)
    }
    async fn device_bindings(&self, ticket: TicketId) -> StoreResult<Vec<DeviceBindingLog>> {
        phone::device_bindings(&self.pool, ticket).await
    }
    async fn inspect_ticket(&self, inspect: InspectTicket) -> StoreResult<Inspected> {
        transaction!(self.pool, |conn| phone::inspect(conn, &inspect).await?)
    }
    async fn inspections(&self, ticket: TicketId) -> StoreResult<Vec<InspectionLog>> {
        phone::inspections(&self.pool, ticket).await
    }
    async fn enrol_gate_device(&self, device: NewGateDevice) -> StoreResult<GateDevice> {
        transaction!(self.pool, |conn| gate_terminals::enrol(conn, &device).await?)
    }
    async fn gate_device_by_token(&self, hash: [u8; 32]) -> StoreResult<Option<GateDevice>> {
        gate_terminals::device_by_token(&self.pool, hash).await
    }
    async fn gate_device(&self, id: GateDeviceId) -> StoreResult<GateDevice> {
        let mut conn = self.pool.acquire().await?;
        gate_terminals::device(&mut conn, id).await
    }
    async fn revoke_gate_device(&self, id: GateDeviceId, now_ms: i64) -> StoreResult<GateDevice> {
        transaction!(self.pool, |conn| gate_terminals::revoke(conn, id, now_ms).await?)
    }
    async fn venue_sessions(&self, venue: VenueId, ended_after_ms: i64) -> StoreResult<Vec<Session>> {
        gate_terminals::venue_sessions(&self.pool, venue, ended_after_ms).await
    }
    async fn ticket_changes(&self, query: TicketChangesQuery) -> StoreResult<TicketChanges> {
        gate_terminals::ticket_changes(&self.pool, &query).await
    }
    async fn upload_gate_scans(
        &self,
        device: GateDeviceId,
        scans: Vec<UploadedScan>,
        now_ms: i64,
    ) -> StoreResult<Vec<UploadResult>> {
        transaction!(self.pool, |conn| gate_terminals::upload(conn, device, &scans, now_ms).await?)
    }
    async fn conflicts(&self, session: SessionId) -> StoreResult<Vec<Conflict>> {
        gate_terminals::conflicts(&self.pool, session).await
    }
    async fn entries(&self, session: SessionId, bucket_ms: i64) -> StoreResult<Vec<EntryCount>> {
        gate_terminals::entries(&self.pool, session, bucket_ms).await
    }
}
