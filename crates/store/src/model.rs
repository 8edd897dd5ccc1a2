//! Records the store reads and writes. Plain data: the HTTP layer maps them to its own API
//! shapes, so storage and wire formats can change independently.

use admit_domain::{
    Currency, Direction, EntryPolicy, EntryState, EventId, EventKind, GateId, GradeId, HoldState, Money, OrderState,
    OrganiserId, PaymentState, SeatId, SeatingMode, SessionEntries, SessionId, TicketId, TicketStatus, VenueId,
};

/// What a staff token may do. Gate staff scan and read manifests; admins do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    Admin,
    Gate,
}

impl StaffRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::Gate => "gate",
        }
    }
    pub fn parse(s: &str) -> Option<StaffRole> {
        match s {
            "admin" => Some(StaffRole::Admin),
            "gate" => Some(StaffRole::Gate),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub organiser_id: OrganiserId,
    pub role: StaffRole,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewGate {
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewVenue {
    pub organiser_id: OrganiserId,
    pub name: String,
    pub city: String,
    pub latitude: f64,
    pub longitude: f64,
    pub gates: Vec<NewGate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub id: GateId,
    pub venue_id: VenueId,
    pub organiser_id: OrganiserId,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub id: VenueId,
    pub organiser_id: OrganiserId,
    pub name: String,
    pub city: String,
    pub latitude: f64,
    pub longitude: f64,
    pub gates: Vec<Gate>,
}

/// A grade as configured for an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrade {
    pub code: String,
    pub name: String,
    pub seating: SeatingMode,
    pub price_minor: i64,
    pub policy: EntryPolicy,
    /// General-admission units per session (ignored for reserved grades).
    pub quota: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub label: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub doors_at_ms: i64,
}

/// One seat of the layout; every session of the event gets a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSeat {
    pub grade_code: String,
    /// Block, tier, or for transport the coach/car/cabin.
    pub section: String,
    pub row: String,
    pub row_rank: i32,
    pub number: i32,
    /// Unique per session, shown on the ticket, e.g. "A-12" or "Car 3 / 7C".
    pub label: String,
}

/// Everything needed to put an event on sale in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub organiser_id: OrganiserId,
    pub venue_id: VenueId,
    pub name: String,
    pub kind: EventKind,
    pub description: String,
    pub currency: Currency,
    /// Transport only: where the departure leaves from and goes to.
    pub route: Option<(String, String)>,
    pub grades: Vec<NewGrade>,
    pub sessions: Vec<NewSession>,
    pub seats: Vec<NewSeat>,
    pub keys: EventKeys,
}

/// The event's signing key and inspection key. Secrets: never leave the server.
#[derive(Clone, PartialEq, Eq)]
pub struct EventKeys {
    pub key_id: u32,
    pub signing_secret: [u8; 32],
    pub public_key: [u8; 32],
    pub inspection_key: [u8; 32],
}

impl std::fmt::Debug for EventKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventKeys").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub organiser_id: OrganiserId,
    pub venue_id: VenueId,
    pub venue_name: String,
    pub name: String,
    pub kind: EventKind,
    pub description: String,
    pub currency: Currency,
    pub route: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub event_id: EventId,
    pub label: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub doors_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grade {
    pub id: GradeId,
    pub event_id: EventId,
    pub code: String,
    pub name: String,
    pub seating: SeatingMode,
    pub price: Money,
    pub policy: EntryPolicy,
}

/// An event with what a buyer needs to choose: sessions and grades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDetail {
    pub event: Event,
    pub sessions: Vec<Session>,
    pub grades: Vec<Grade>,
}

/// Live remaining count for one grade of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradeAvailability {
    pub grade_id: GradeId,
    pub total: u32,
    pub held: u32,
    pub sold: u32,
}

impl GradeAvailability {
    pub fn remaining(&self) -> u32 {
        self.total.saturating_sub(self.held + self.sold)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatState {
    Free,
    Held,
    Sold,
}

impl SeatState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SeatState::Free => "free",
            SeatState::Held => "held",
            SeatState::Sold => "sold",
        }
    }
    pub fn parse(s: &str) -> Option<SeatState> {
        [SeatState::Free, SeatState::Held, SeatState::Sold].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub id: SeatId,
    pub session_id: SessionId,
    pub grade_id: GradeId,
    pub section: String,
    pub row: String,
    pub row_rank: i32,
    pub number: i32,
    pub label: String,
    pub state: SeatState,
}

/// What a buyer asks to hold in one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldRequest {
    Seats(Vec<SeatId>),
    BestAvailable { grade: GradeId, quantity: u32, require_adjacent: bool },
    Units { grade: GradeId, quantity: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHold {
    pub id: String,
    pub session_id: SessionId,
    pub request: HoldRequest,
    pub now_ms: i64,
    pub expires_at_ms: i64,
}

/// One line of a hold, priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldLine {
    pub grade_id: GradeId,
    pub grade_code: String,
    pub seat: Option<(SeatId, String)>,
    pub quantity: u32,
    pub unit_price: Money,
    pub policy: EntryPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: String,
    pub session_id: SessionId,
    pub event_id: EventId,
    /// As stored; use `HoldState::effective` with the clock for what it means now.
    pub state: HoldState,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub lines: Vec<HoldLine>,
    pub total: Money,
    /// Set once the hold was paid.
    pub order_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub id: String,
    pub hold_id: String,
    pub gateway: String,
    pub amount: Money,
    /// What the buyer used, safe to show: "card **** 4242".
    pub method: String,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub hold_id: String,
    pub gateway: String,
    pub amount: Money,
    pub method: String,
    pub state: PaymentState,
    /// Decline reason code, or a note on a refund.
    pub detail: Option<String>,
    pub authorization: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A ticket ready to be stored: id chosen, credential signed, password derived, all before
/// the write transaction so no signing happens under the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub id: TicketId,
    pub reference: String,
    pub grade_id: GradeId,
    pub seat_id: Option<SeatId>,
    pub price_minor: i64,
    pub version: u32,
    pub max_entries: u32,
    pub credential: String,
    pub inspection_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteOrder {
    pub order_id: String,
    pub hold_id: String,
    pub payment_id: String,
    pub authorization: String,
    pub tickets: Vec<NewTicket>,
    pub now_ms: i64,
    /// A one-time login link for the confirmation, stored in the same transaction (so a paid
    /// order costs no extra write); also when the payment had already completed the order.
    pub login_link: Option<OrderLoginLink>,
}

/// The login link made with an order: the SHA-256 of its token and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLoginLink {
    pub token_hash: [u8; 32],
    pub expires_at_ms: i64,
}

impl OrderLoginLink {
    /// The link as stored for `order_id`.
    pub fn for_order(&self, order_id: &str, now_ms: i64) -> crate::NewLoginLink {
        crate::NewLoginLink {
            token_hash: self.token_hash,
            order_id: order_id.to_owned(),
            now_ms,
            expires_at_ms: self.expires_at_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub order_id: String,
    pub session_id: SessionId,
    pub event_id: EventId,
    pub grade_id: GradeId,
    pub grade_code: String,
    pub seat_label: Option<String>,
    pub reference: String,
    pub version: u32,
    pub status: TicketStatus,
    pub entries_used: u32,
    pub max_entries: u32,
    /// The grade's entry policy (its `max_entries` is the ticket's).
    pub policy: EntryPolicy,
    /// A re-entry ticket's holder is inside (entered, not passed out).
    pub inside: bool,
    /// A multi-day pass's entries per session.
    pub session_entries: SessionEntries,
    pub credential: String,
    pub inspection_code: String,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub hold_id: String,
    pub payment_id: String,
    pub session_id: SessionId,
    pub event_id: EventId,
    pub state: OrderState,
    pub total: Money,
    pub created_at_ms: i64,
    pub tickets: Vec<Ticket>,
}

/// One line of a gate manifest (what the venue receives in advance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    pub reference: String,
    pub inspection_code: String,
    pub seat: Option<String>,
    pub grade: String,
    pub version: u32,
    pub status: TicketStatus,
    pub entries_used: u32,
    pub max_entries: u32,
}

/// A signature-checked scan to decide atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequest {
    pub ticket_id: TicketId,
    pub presented_version: u32,
    pub presented_session: SessionId,
    pub gate_id: GateId,
    pub gate_session: SessionId,
    /// The gate session's event (a multi-day pass is valid at every session of its event);
    /// `None`: only the ticket's own session admits.
    pub gate_event: Option<EventId>,
    /// Entry (the default) or exit (a pass-out).
    pub direction: Direction,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub now_ms: i64,
    /// A device presentation's counter (`ADP1:`): refused as `replayed` unless newer than the
    /// last one accepted for the ticket's version. `None` for a static credential.
    pub device_counter: Option<u32>,
}

/// A scan that admitted someone (through the gate in `direction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub ticket_id: TicketId,
    pub reference: String,
    pub seat_label: Option<String>,
    pub grade_code: String,
    /// Entries taken after this scan (a multi-day pass: at this session).
    pub entries_used: u32,
    pub max_entries: u32,
    pub direction: Direction,
    pub policy: EntryPolicy,
    /// The ticket's entry state before and after: the store replaces `before` with `after` in
    /// one guarded update, which misses (and denies) if another scan changed it meanwhile.
    pub before: EntryState,
    pub after: EntryState,
}

/// A scan refused before a ticket could be identified, kept for the gate's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedScan {
    pub ticket_id: Option<TicketId>,
    pub gate_id: GateId,
    pub session_id: SessionId,
    pub reason: admit_domain::DenyReason,
    pub now_ms: i64,
}

/// What a stored idempotent request answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    /// The `Location` header of a creation, replayed with it.
    pub location: Option<String>,
    /// Further headers the answer depends on (`Cache-Control: no-store`, `Retry-After`), by
    /// name in lower case, in the order given.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A request carrying an `Idempotency-Key`, claiming its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// Whose key it is and for what: records of different scopes never meet.
    pub scope: String,
    pub key: String,
    /// What the request asked; the same key with a different hash is refused.
    pub request_hash: [u8; 32],
    pub now_ms: i64,
    /// How long the claim blocks retries while its request runs; after that a retry may take
    /// it over (the request is taken to have died).
    pub lease_ms: i64,
    /// When a record claimed now expires: then it is forgotten and purged.
    pub expires_at_ms: i64,
}

/// What to do with a request carrying an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First time (or a take-over of a crashed request's claim): run it, then
    /// `idempotency_finish`. `claimed_at_ms` is when the key was first claimed, the same for
    /// every take-over, so what the request creates can be named after it and found again.
    Proceed { claimed_at_ms: i64 },
    /// Seen and finished: answer exactly this again.
    Replay(StoredResponse),
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    KeyReused,
}

// --- on-sale waiting room ---------------------------------------------------------------------

/// An event's waiting-room settings, as its organiser configures them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitingRoomConfig {
    /// When the sale opens: arrivals before it are drawn into a random order at this moment.
    pub opens_at_ms: i64,
    /// Buyers admitted per minute.
    pub admit_per_minute: u32,
    /// How long an admission (and the pass that proves it) lasts once granted.
    pub pass_ttl_ms: i64,
}

/// A waiting room with its live admission state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitingRoom {
    pub event_id: EventId,
    pub pass_ttl_ms: i64,
    pub admission: admit_domain::waiting_room::Admission,
}

/// One buyer (one browser: tabs share it) joining an event's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueJoin {
    pub event_id: EventId,
    /// Unguessable id chosen by the server; the buyer's handle on their place.
    pub entry_id: String,
    /// Random draw for the order of arrivals before opening.
    pub lottery: i64,
    pub now_ms: i64,
}

/// A buyer's place in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    pub event_id: EventId,
    pub id: String,
    pub joined_at_ms: i64,
    /// Place in line; `None` until early arrivals are drawn at opening.
    pub seq: Option<i64>,
    /// When the buyer was first seen admitted: the admission lasts `pass_ttl_ms` from here.
    pub admitted_at_ms: Option<i64>,
    pub standing: admit_domain::waiting_room::Standing,
    /// Before opening: how many arrived early (the draw is among them).
    pub early_arrivals: i64,
    pub opens_at_ms: i64,
    pub admit_per_minute: u32,
    pub pass_ttl_ms: i64,
}
