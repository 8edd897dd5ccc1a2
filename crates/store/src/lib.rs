//! Persistence for Admit behind one narrow async trait.
//!
//! The trait speaks in domain operations (hold these seats, complete this order, admit this
//! scan), not in rows, so each backend implements every operation as one native transaction
//! with its own locking strategy. SQLite (embedded, WAL, one writer) is the default;
//! PostgreSQL (several nodes on one database) implements the same trait and passes the same
//! conformance suite.

mod decode;
mod error;
mod gate_rows;
mod gate_terminals;
pub mod model;
pub mod phone;
mod phone_rows;
pub mod postgres;
mod queue;
mod rows;
mod rules;
pub mod sqlite;
mod staff_places;

pub use error::{StoreError, StoreResult};
pub use gate_terminals::*;
pub use model::*;
pub use phone::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use staff_places::{SessionAtVenue, SessionWindow, StaffPlaces};

use admit_domain::{CredentialPolicy, EventId, GateId, OrganiserId, PaymentState, SessionId, TicketId, VenueId};
use async_trait::async_trait;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- organisers, staff, venues, events ------------------------------------------------
    async fn create_organiser(&self, name: &str) -> StoreResult<OrganiserId>;
    /// Stores a staff token by its SHA-256 hash (tokens are random; the hash is enough).
    async fn add_staff_token(
        &self,
        organiser: OrganiserId,
        role: StaffRole,
        token_hash: [u8; 32],
        label: &str,
    ) -> StoreResult<()>;
    async fn staff_by_token(&self, token_hash: [u8; 32]) -> StoreResult<Option<Staff>>;
    async fn create_venue(&self, venue: NewVenue) -> StoreResult<Venue>;
    async fn gate(&self, id: GateId) -> StoreResult<Gate>;
    /// Creates the event, its grades, sessions, per-session seats and quotas, and its keys.
    async fn create_event(&self, event: NewEvent) -> StoreResult<EventId>;
    async fn list_events(&self) -> StoreResult<Vec<Event>>;
    async fn event(&self, id: EventId) -> StoreResult<EventDetail>;
    async fn session(&self, id: SessionId) -> StoreResult<Session>;
    async fn availability(&self, session: SessionId) -> StoreResult<Vec<GradeAvailability>>;
    async fn seats(&self, session: SessionId) -> StoreResult<Vec<Seat>>;
    async fn event_keys(&self, event: EventId) -> StoreResult<EventKeys>;
    /// Every verification key: (key ID, Ed25519 public key).
    async fn public_keys(&self) -> StoreResult<Vec<(u32, [u8; 32])>>;

    // --- holds -------------------------------------------------------------------------------
    /// All or nothing: `SoldOut` when the request cannot be met in full.
    async fn create_hold(&self, hold: NewHold) -> StoreResult<Hold>;
    async fn hold(&self, id: &str) -> StoreResult<Hold>;
    /// Releases an active hold at once. Cancelling a released or expired hold is a no-op;
    /// a paid one is `HoldNotActive`.
    async fn cancel_hold(&self, id: &str, now_ms: i64) -> StoreResult<Hold>;
    /// Returns every active hold past its expiry to sale; how many were released.
    async fn expire_holds(&self, now_ms: i64) -> StoreResult<u64>;

    // --- payments and orders -------------------------------------------------------------------
    /// Records a pending attempt before the gateway is called. `Conflict` when another attempt
    /// for the hold is pending; `HoldNotActive` when the hold cannot be paid.
    async fn begin_payment(&self, payment: NewPayment) -> StoreResult<()>;
    /// Records a gateway answer other than approval: declined, timed out, or refunded.
    async fn settle_payment(&self, id: &str, state: PaymentState, detail: Option<&str>, now_ms: i64)
    -> StoreResult<()>;
    /// Approval: the hold becomes an order with its tickets, the seats sold, in one transaction.
    /// `HoldNotActive` when the hold expired or was cancelled meanwhile: the caller refunds.
    async fn complete_order(&self, order: CompleteOrder) -> StoreResult<Order>;
    async fn payment(&self, id: &str) -> StoreResult<Payment>;
    /// Attempts in `state` last touched before `before_ms` (crash recovery and reconciliation).
    async fn payments_in_state(&self, state: PaymentState, before_ms: i64) -> StoreResult<Vec<Payment>>;
    async fn order(&self, id: &str) -> StoreResult<Order>;
    async fn ticket(&self, id: TicketId) -> StoreResult<Ticket>;

    // --- gates ---------------------------------------------------------------------------------
    async fn manifest(&self, session: SessionId) -> StoreResult<Vec<ManifestRow>>;
    /// Decides a scan with `admit_domain::decide_entry` and, if admitted, counts the entry, in
    /// one atomic step: two gates scanning one single-entry ticket at once admit exactly once.
    /// A denial is `StoreError::Denied(reason)` and is logged too.
    async fn check_in(&self, scan: ScanRequest) -> StoreResult<Admission>;
    /// Logs a scan denied before it reached a ticket (bad signature, unknown key …).
    async fn log_denied_scan(&self, scan: DeniedScan) -> StoreResult<()>;

    // --- idempotency -----------------------------------------------------------------------------
    /// Claims `(scope, key)` for a request whose body hashes to `request_hash`. A claim left
    /// by a crashed request may be taken over after `lease_ms`; a record past its expiry is
    /// forgotten (the key is claimed anew).
    async fn idempotency_start(&self, claim: IdempotencyClaim) -> StoreResult<IdempotencyStart>;
    async fn idempotency_finish(&self, scope: &str, key: &str, response: StoredResponse) -> StoreResult<()>;
    /// Forgets a claim whose request failed without a definite answer, so a retry runs again.
    async fn idempotency_release(&self, scope: &str, key: &str) -> StoreResult<()>;
    /// Deletes the records that expired by `now_ms` (the background sweeper); returns how many.
    async fn idempotency_purge(&self, now_ms: i64) -> StoreResult<u64>;

    // --- on-sale waiting room ------------------------------------------------------------------
    /// Turns an event's waiting room on (or reconfigures it, keeping everyone's place and what
    /// was admitted so far) or, with `None`, off (forgetting the queue).
    async fn set_waiting_room(&self, event: EventId, config: Option<WaitingRoomConfig>, now_ms: i64)
    -> StoreResult<()>;
    async fn waiting_room(&self, event: EventId) -> StoreResult<Option<WaitingRoom>>;
    /// Queues a buyer; joining again with the same entry id returns the same place.
    /// `NotFound("waiting room")` when the event has none.
    async fn queue_join(&self, join: QueueJoin) -> StoreResult<QueueEntry>;
    /// Where a queued buyer stands now. Draws early arrivals when the sale has opened, and
    /// records the moment a buyer is first seen admitted.
    async fn queue_entry(&self, event: EventId, entry_id: &str, now_ms: i64) -> StoreResult<QueueEntry>;

    // --- credential policy (per event) -------------------------------------------------------
    /// Whether static credentials admit, the phone's QR rotation and the device-proof window;
    /// the defaults until the organiser changes them. `NotFound("event")` for an unknown event.
    async fn credential_policy(&self, event: EventId) -> StoreResult<CredentialPolicy>;
    /// Replaces the event's credential policy. `Invalid` when it breaks
    /// [`CredentialPolicy::validate`]; `NotFound("event")` for an unknown event.
    async fn set_credential_policy(&self, event: EventId, policy: CredentialPolicy) -> StoreResult<()>;

    // --- gate page: what staff choose from ---------------------------------------------------
    /// The organiser's venues with their gates, and the organiser's sessions in `window`
    /// (soonest first) with their event's name and venue. Only this organiser's (invariant 7).
    async fn staff_places(&self, organiser: OrganiserId, window: SessionWindow) -> StoreResult<StaffPlaces>;

    // --- the buyer's phone: login links, buyer sessions, device binding, inspection --------------
    /// Stores a one-time login link for an order (by the hash of its token).
    /// `NotFound("order")` when there is no such order.
    async fn create_login_link(&self, link: NewLoginLink) -> StoreResult<()>;
    /// Deletes login links that expired by `expired_by_ms` or were used by `used_by_ms`; the
    /// number deleted. A deleted link reads as unknown, so keep used ones a little while for
    /// the "already used" page.
    async fn purge_login_links(&self, expired_by_ms: i64, used_by_ms: i64) -> StoreResult<u64>;
    /// Uses a login link once: a fresh link grants its order to the buyer session
    /// `session_hash` (created on first use; a session may hold many orders).
    async fn redeem_login_link(
        &self,
        token_hash: [u8; 32],
        session_hash: [u8; 32],
        now_ms: i64,
    ) -> StoreResult<LoginRedemption>;
    /// Every ticket of every order the buyer session holds; `None` for an unknown session.
    async fn buyer_tickets(&self, session_hash: [u8; 32]) -> StoreResult<Option<Vec<TicketView>>>;
    /// One ticket, only if the buyer session holds its order (`NotFound("ticket")` otherwise).
    async fn buyer_ticket(&self, session_hash: [u8; 32], ticket: TicketId) -> StoreResult<TicketView>;
    async fn ticket_view(&self, ticket: TicketId) -> StoreResult<TicketView>;
    /// Re-issues the ticket bound to a device key (version bump: every earlier credential is
    /// revoked) and logs the binding, in one transaction.
    async fn bind_device(&self, bind: BindDevice) -> StoreResult<BindOutcome>;
    /// Every binding of the ticket, oldest first.
    async fn device_bindings(&self, ticket: TicketId) -> StoreResult<Vec<DeviceBindingLog>>;
    /// "Check" on the phone: consumes an entry with the gate's rules (`decide_entry`, guarded
    /// count) and logs the inspection, in one transaction.
    async fn inspect_ticket(&self, inspect: InspectTicket) -> StoreResult<Inspected>;
    /// Every inspection of the ticket, oldest first.
    async fn inspections(&self, ticket: TicketId) -> StoreResult<Vec<InspectionLog>>;
    // --- gate terminals: enrolment, sync feed, uploads, reconciliation ---------------------------
    /// Enrols a terminal for a gate (`NotFound("gate")` for an unknown gate).
    async fn enrol_gate_device(&self, device: NewGateDevice) -> StoreResult<GateDevice>;
    /// The terminal holding the token with this hash, revoked or not.
    async fn gate_device_by_token(&self, token_hash: [u8; 32]) -> StoreResult<Option<GateDevice>>;
    async fn gate_device(&self, id: GateDeviceId) -> StoreResult<GateDevice>;
    /// Revokes a terminal's token; revoking twice keeps the first time.
    async fn revoke_gate_device(&self, id: GateDeviceId, now_ms: i64) -> StoreResult<GateDevice>;
    /// The sessions of every event at the venue that had not ended by `ended_after_ms`.
    async fn venue_sessions(&self, venue: VenueId, ended_after_ms: i64) -> StoreResult<Vec<Session>>;
    /// One page of the incremental ticket feed of some sessions (see [`TicketChangesQuery`]).
    async fn ticket_changes(&self, query: TicketChangesQuery) -> StoreResult<TicketChanges>;
    /// Reconciles scans a terminal took offline, each once per `(device, seq)` (a repeat
    /// answers what the first upload answered). An admit takes an entry by the same rules as
    /// [`Store::check_in`], atomically; one that cannot is stored as a conflict, never merged.
    async fn upload_gate_scans(
        &self,
        device: GateDeviceId,
        scans: Vec<UploadedScan>,
        now_ms: i64,
    ) -> StoreResult<Vec<UploadResult>>;
    /// Uploaded admits the server could not count, with the admits that counted, oldest first.
    async fn conflicts(&self, session: SessionId) -> StoreResult<Vec<Conflict>>;
    /// Admits per gate per `bucket_ms` (online, uploaded, conflicts), in time then gate order.
    async fn entries(&self, session: SessionId, bucket_ms: i64) -> StoreResult<Vec<EntryCount>>;
}
