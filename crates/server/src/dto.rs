//! The API's wire shapes (documented in the OpenAPI document) and their mapping from store
//! records. Times are RFC 3339 UTC; money is integer minor units with its currency; ticket ids
//! are strings because they are 63-bit and JavaScript numbers are not.

use admit_domain::{EventKind, Money};
use admit_store as store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::routes::CredentialPolicyDto;

pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyDto {
    /// Integer minor units (cents; won have none).
    pub amount_minor: i64,
    pub currency: String,
    /// For people: "150000 KRW", "12.50 USD".
    pub display: String,
}

impl From<Money> for MoneyDto {
    fn from(m: Money) -> Self {
        MoneyDto { amount_minor: m.minor(), currency: m.currency().code().to_owned(), display: m.to_string() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RouteDto {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventSummary {
    pub id: i64,
    pub name: String,
    /// concert, match, play, screening, train, express_bus, flight
    pub kind: String,
    pub is_transport: bool,
    pub venue_id: i64,
    pub venue: String,
    pub description: String,
    pub currency: String,
    pub route: Option<RouteDto>,
}

impl From<&store::Event> for EventSummary {
    fn from(e: &store::Event) -> Self {
        EventSummary {
            id: e.id.0,
            name: e.name.clone(),
            kind: e.kind.as_str().to_owned(),
            is_transport: EventKind::is_transport(&e.kind),
            venue_id: e.venue_id.0,
            venue: e.venue_name.clone(),
            description: e.description.clone(),
            currency: e.currency.code().to_owned(),
            route: e.route.clone().map(|(from, to)| RouteDto { from, to }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GradeDto {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// reserved or general_admission
    pub seating: String,
    pub price: MoneyDto,
    /// Entries one ticket of this grade allows (a multi-day pass: per session).
    pub max_entries: u32,
    /// single, entries (N entries), reentry (re-entry with pass-out) or multi_day (a pass
    /// valid at every session of the event).
    pub entry_policy: String,
    /// Re-entry with pass-out: one person inside at a time; an exit scan allows the next entry.
    pub reentry: bool,
    /// Valid at every session (day) of the event, `max_entries` per session.
    pub multi_day: bool,
}

impl From<&store::Grade> for GradeDto {
    fn from(g: &store::Grade) -> Self {
        GradeDto {
            id: g.id.0,
            code: g.code.clone(),
            name: g.name.clone(),
            seating: g.seating.as_str().to_owned(),
            price: g.price.into(),
            max_entries: g.policy.max_entries,
            entry_policy: g.policy.kind().to_owned(),
            reentry: g.policy.reentry,
            multi_day: g.policy.multi_day,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityDto {
    pub grade_id: i64,
    pub grade_code: String,
    pub total: u32,
    pub held: u32,
    pub sold: u32,
    pub remaining: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    pub id: i64,
    pub event_id: i64,
    /// The round, performance or departure, e.g. "Evening show" or "KTX 101".
    pub label: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub doors_at: DateTime<Utc>,
    /// Live remaining counts per grade.
    pub availability: Vec<AvailabilityDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventDetailDto {
    #[serde(flatten)]
    pub event: EventSummary,
    pub grades: Vec<GradeDto>,
    pub sessions: Vec<SessionDto>,
    /// What the gates accept for this event and how often phones refresh their code.
    pub credential_policy: CredentialPolicyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatDto {
    pub id: i64,
    pub label: String,
    pub section: String,
    pub row: String,
    pub number: i32,
    pub grade_id: i64,
    /// free, held or sold
    pub state: String,
}

impl From<&store::Seat> for SeatDto {
    fn from(s: &store::Seat) -> Self {
        SeatDto {
            id: s.id.0,
            label: s.label.clone(),
            section: s.section.clone(),
            row: s.row.clone(),
            number: s.number,
            grade_id: s.grade_id.0,
            state: s.state.as_str().to_owned(),
        }
    }
}

/// Hold explicit seats (`seat_ids`), or `quantity` of a grade: best-available seats for a
/// reserved grade, units for a general-admission grade.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHold {
    pub session_id: i64,
    pub seat_ids: Option<Vec<i64>>,
    pub grade_id: Option<i64>,
    pub quantity: Option<u32>,
    /// Best-available only: refuse rather than split the party (default false: adjacent
    /// where possible).
    #[serde(default)]
    pub require_adjacent: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldLineDto {
    pub grade_id: i64,
    pub grade_code: String,
    pub seat_id: Option<i64>,
    pub seat: Option<String>,
    pub quantity: u32,
    pub unit_price: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldDto {
    pub id: String,
    pub session_id: i64,
    pub event_id: i64,
    /// active, converted (paid), released (cancelled) or expired
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub lines: Vec<HoldLineDto>,
    pub total: MoneyDto,
    /// The order, once paid.
    pub order_id: Option<String>,
}

impl HoldDto {
    pub fn new(h: &store::Hold, now_ms: i64) -> HoldDto {
        HoldDto {
            id: h.id.clone(),
            session_id: h.session_id.0,
            event_id: h.event_id.0,
            state: h.state.effective(h.expires_at_ms, now_ms).as_str().to_owned(),
            created_at: time(h.created_at_ms),
            expires_at: time(h.expires_at_ms),
            lines: h
                .lines
                .iter()
                .map(|l| HoldLineDto {
                    grade_id: l.grade_id.0,
                    grade_code: l.grade_code.clone(),
                    seat_id: l.seat.as_ref().map(|(id, _)| id.0),
                    seat: l.seat.as_ref().map(|(_, label)| label.clone()),
                    quantity: l.quantity,
                    unit_price: l.unit_price.into(),
                })
                .collect(),
            total: h.total.into(),
            order_id: h.order_id.clone(),
        }
    }
}

/// Card details. Test cards: see the card simulator table in the README.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    pub number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    pub card: CardInput,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketLinks {
    pub credential: String,
    pub qr_svg: String,
    pub qr_png: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    /// 63-bit id as a decimal string.
    pub id: String,
    /// Human-readable reference; also the inspection ID.
    pub reference: String,
    pub session_id: i64,
    pub grade: String,
    pub seat: Option<String>,
    /// Bumped on re-issue; older versions are revoked.
    pub version: u32,
    /// valid or canceled
    pub status: String,
    pub entries_used: u32,
    pub max_entries: u32,
    /// single, entries, reentry (pass-out) or multi_day (valid at every session of the event).
    pub entry_policy: String,
    /// A re-entry ticket's holder is inside (entered, not passed out).
    pub inside: bool,
    pub price: MoneyDto,
    /// The signed credential in its text form (what the QR code holds).
    pub credential: String,
    pub links: TicketLinks,
}

impl TicketDto {
    pub fn new(t: &store::Ticket) -> TicketDto {
        let base = format!("/orders/{}/tickets/{}", t.order_id, t.id.0);
        TicketDto {
            id: t.id.0.to_string(),
            reference: t.reference.clone(),
            session_id: t.session_id.0,
            grade: t.grade_code.clone(),
            seat: t.seat_label.clone(),
            version: t.version,
            status: t.status.as_str().to_owned(),
            entries_used: t.entries_used,
            max_entries: t.max_entries,
            entry_policy: t.policy.kind().to_owned(),
            inside: t.inside,
            price: t.price.into(),
            credential: t.credential.clone(),
            links: TicketLinks {
                credential: format!("{base}/credential"),
                qr_svg: format!("{base}/qr.svg"),
                qr_png: format!("{base}/qr.png"),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub id: String,
    pub hold_id: String,
    pub session_id: i64,
    pub event_id: i64,
    /// paid or refunded
    pub state: String,
    pub total: MoneyDto,
    pub created_at: DateTime<Utc>,
    /// Shown after approval.
    pub message: String,
    pub tickets: Vec<TicketDto>,
    /// A fresh one-time link (`/my/login/{token}`, 24 h, single use) that opens these tickets
    /// on the buyer's phone; every confirmation makes a new one (and so does
    /// `POST /orders/{order_id}/login-link`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
}

impl From<&store::Order> for OrderDto {
    fn from(o: &store::Order) -> Self {
        OrderDto {
            id: o.id.clone(),
            hold_id: o.hold_id.clone(),
            session_id: o.session_id.0,
            event_id: o.event_id.0,
            state: o.state.as_str().to_owned(),
            total: o.total.into(),
            created_at: time(o.created_at_ms),
            message: "Reservation complete.".into(),
            tickets: o.tickets.iter().map(TicketDto::new).collect(),
            login_url: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestRowDto {
    pub reference: String,
    /// Inspection ID (the reference) and password, compared with what the buyer's phone shows.
    pub inspection_id: String,
    pub inspection_password: String,
    pub seat: Option<String>,
    pub grade: String,
    /// valid, used or canceled
    pub status: String,
    pub version: u32,
    pub entries_used: u32,
    pub max_entries: u32,
}

impl From<&store::ManifestRow> for ManifestRowDto {
    fn from(r: &store::ManifestRow) -> Self {
        let status = match r.status {
            admit_domain::TicketStatus::Canceled => "canceled",
            _ if r.entries_used >= r.max_entries => "used",
            _ => "valid",
        };
        ManifestRowDto {
            reference: r.reference.clone(),
            inspection_id: r.reference.clone(),
            inspection_password: r.inspection_code.clone(),
            seat: r.seat.clone(),
            grade: r.grade.clone(),
            status: status.to_owned(),
            version: r.version,
            entries_used: r.entries_used,
            max_entries: r.max_entries,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanInput {
    /// The code as scanned (the QR content): a static credential (`ADM1:…`) or a phone's
    /// device-bound presentation (`ADP1:…`).
    pub credential: String,
    pub gate_id: i64,
    /// The session this gate is admitting for.
    pub session_id: i64,
    /// entry (default) or exit: an exit lane's scan, the pass-out of a re-entry ticket.
    #[serde(default)]
    pub direction: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScannedTicket {
    pub reference: String,
    pub seat: Option<String>,
    pub grade: String,
}

/// The gate's answer: admit or deny, with the reason code on deny.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanVerdict {
    /// admit or deny
    pub verdict: String,
    /// Machine reason code on deny: bad_signature, unknown_key, revoked_version, wrong_session,
    /// already_used, expired, not_yet_valid, canceled, unknown_ticket, malformed,
    /// unsupported_version, device_proof_missing, bad_device_signature, stale_proof,
    /// static_not_accepted, already_inside (re-entry ticket: pass out first), not_inside (exit
    /// of a holder who is not inside), no_reentry (exit scan of a ticket without pass-out),
    /// replayed (a phone code already used: a photo or screenshot), wrong_event (a genuine
    /// ticket of another event, not one at this gate's venue), list_out_of_date (offline gate
    /// terminals only: the ticket was re-issued after the terminal's last sync).
    pub reason: Option<String>,
    /// entry or exit, as scanned.
    pub direction: String,
    /// The ticket's entry policy on admit (single, entries, reentry, multi_day).
    pub entry_policy: Option<String>,
    /// A re-entry ticket's holder is inside after this scan (admits only).
    pub inside: Option<bool>,
    pub message: String,
    pub ticket: Option<ScannedTicket>,
    /// How many people this scan admits (0 on an exit).
    pub admits: u32,
    pub entries_used: Option<u32>,
    pub max_entries: Option<u32>,
    pub gate_id: i64,
    pub scanned_at: DateTime<Utc>,
}

/// One concrete thing a buyer could have instead when what they asked for is sold out.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alternative {
    /// The same grade in another session of the event.
    OtherSession { session_id: i64, label: String, starts_at: DateTime<Utc>, grade_id: i64, remaining: u32 },
    /// Another grade in the same session.
    OtherGrade { grade_id: i64, grade_code: String, price: MoneyDto, remaining: u32 },
    /// Fewer seats side by side in this grade.
    FewerAdjacent { grade_id: i64, quantity: u32 },
    /// Fewer seats or units in this grade.
    FewerSeats { grade_id: i64, quantity: u32 },
}
