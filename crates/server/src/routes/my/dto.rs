//! Wire shapes of the buyer's phone API: the live ticket (every field the phone shows, plus the
//! credential it builds presentations from), device registration and inspection.

use crate::dto::{CredentialPolicyDto, MoneyDto, RouteDto, time};
use admit_domain::CredentialPolicy;
use admit_store::TicketView;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneEventDto {
    pub id: i64,
    pub name: String,
    /// concert, match, play, screening, train, express_bus, flight
    pub kind: String,
    pub venue: String,
    pub city: String,
    pub route: Option<RouteDto>,
}

/// The round: the performance, match day or departure the ticket is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneSessionDto {
    pub id: i64,
    pub label: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub doors_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneGradeDto {
    pub code: String,
    pub name: String,
}

/// The device key the current credential names.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoundDeviceDto {
    /// Ed25519 or P-256
    pub algorithm: String,
    /// Base64url (no padding) of the raw key as WebCrypto exports it: 32 bytes for Ed25519, 65
    /// (SEC1 uncompressed) for P-256.
    pub public_key: String,
    pub bound_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneLinksDto {
    /// This JSON.
    pub api: String,
    /// The ticket page.
    pub page: String,
    /// The printable static ticket.
    pub print: String,
    /// `POST` here to bind this phone's key.
    pub device: String,
    /// `POST` here to reveal the inspection ID and password (uses an entry).
    pub inspection: String,
}

/// A ticket as the buyer's phone shows it, loaded live.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneTicketDto {
    /// 63-bit id as a decimal string.
    pub id: String,
    /// Human-readable reference; also the inspection ID.
    pub reference: String,
    pub event: PhoneEventDto,
    pub session: PhoneSessionDto,
    pub grade: PhoneGradeDto,
    /// Seat label; absent for general admission.
    pub seat: Option<String>,
    /// People this ticket admits per entry.
    pub quantity: u32,
    /// Tickets in the same order, this one included.
    pub order_quantity: u32,
    /// Who may present it: `device` (bound to one phone's key) or `bearer` (not bound yet).
    pub holder: String,
    pub device: Option<BoundDeviceDto>,
    /// valid, used (no entries left) or canceled
    pub status: String,
    pub entries_used: u32,
    pub max_entries: u32,
    /// single, entries, reentry (pass-out) or multi_day (valid at every session of the event).
    pub entry_policy: String,
    /// A re-entry ticket's holder is inside (entered, not passed out).
    pub inside: bool,
    pub price: MoneyDto,
    /// Bumped on every re-issue (binding a phone); older credentials are revoked.
    pub version: u32,
    /// The signed credential (`ADM1:` text). Bound to `device` when that is set: the phone
    /// then shows it only inside a signed, time-stamped `ADP1:` presentation.
    pub credential: String,
    /// How the organiser wants this event's credentials shown (rotation, proof window, static).
    pub credential_policy: CredentialPolicyDto,
    /// The server's clock when this answer was made (unix milliseconds): phones correct their
    /// presentation counter for skew with it.
    pub server_time_ms: i64,
    pub links: PhoneLinksDto,
}

/// The status a person reads: used once no entry is left.
pub fn status_of(v: &TicketView) -> &'static str {
    match v.ticket.status {
        admit_domain::TicketStatus::Canceled => "canceled",
        // A multi-day pass counts per session: it is not used up by one day's entries.
        _ if !v.ticket.policy.multi_day && v.ticket.entries_used >= v.ticket.max_entries => "used",
        _ => "valid",
    }
}

impl PhoneTicketDto {
    pub fn new(v: &TicketView, policy: CredentialPolicy, now_ms: i64) -> PhoneTicketDto {
        let t = &v.ticket;
        let api = format!("/my/api/tickets/{}", t.id.0);
        PhoneTicketDto {
            id: t.id.0.to_string(),
            reference: t.reference.clone(),
            event: PhoneEventDto {
                id: t.event_id.0,
                name: v.event_name.clone(),
                kind: v.event_kind.as_str().to_owned(),
                venue: v.venue_name.clone(),
                city: v.venue_city.clone(),
                route: v.route.clone().map(|(from, to)| RouteDto { from, to }),
            },
            session: PhoneSessionDto {
                id: t.session_id.0,
                label: v.session_label.clone(),
                starts_at: time(v.starts_at_ms),
                ends_at: time(v.ends_at_ms),
                doors_at: time(v.doors_at_ms),
            },
            grade: PhoneGradeDto { code: t.grade_code.clone(), name: v.grade_name.clone() },
            seat: t.seat_label.clone(),
            quantity: 1,
            order_quantity: v.order_quantity,
            holder: if v.device.is_some() { "device" } else { "bearer" }.to_owned(),
            device: v.device.as_ref().map(|d| BoundDeviceDto {
                algorithm: d.algorithm.clone(),
                public_key: URL_SAFE_NO_PAD.encode(&d.public_key),
                bound_at: v.device_bound_at_ms.map(time),
            }),
            status: status_of(v).to_owned(),
            entries_used: t.entries_used,
            max_entries: t.max_entries,
            entry_policy: t.policy.kind().to_owned(),
            inside: t.inside,
            price: t.price.into(),
            version: t.version,
            credential: t.credential.clone(),
            credential_policy: policy.into(),
            server_time_ms: now_ms,
            links: PhoneLinksDto {
                page: format!("/my/tickets/{}", t.id.0),
                print: format!("/my/tickets/{}/print", t.id.0),
                device: format!("{api}/device"),
                inspection: format!("{api}/inspection"),
                api,
            },
        }
    }
}

/// Registers this phone's key for the ticket, proving possession with a signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindDeviceInput {
    /// Ed25519 or P-256
    pub algorithm: String,
    /// Base64url of the raw public key as WebCrypto exports it (Ed25519: 32 bytes; P-256: 65
    /// bytes uncompressed or 33 compressed).
    pub public_key: String,
    /// The ticket version the proof covers (the `version` the phone loaded).
    pub version: u32,
    /// The phone's clock in unix seconds when it signed (corrected by `server_time_ms`).
    pub counter: u32,
    /// Base64url of the device's 64-byte signature over `device_proof_message(ticket id,
    /// version, counter)` (P-256: IEEE P1363 r‖s).
    pub proof: String,
    /// Take the ticket over from the phone it is bound to now (revokes that binding).
    #[serde(default)]
    pub rebind: bool,
}

/// What pressing "Check" showed.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionDto {
    /// admit (an entry was used now) or deny
    pub verdict: String,
    /// Machine reason on deny, e.g. already_used, not_yet_valid, expired, canceled.
    pub reason: Option<String>,
    pub message: String,
    /// The inspection ID (the ticket reference) and password staff compare with the manifest;
    /// shown when admitted now or already used.
    pub inspection_id: Option<String>,
    pub inspection_password: Option<String>,
    pub entries_used: u32,
    pub max_entries: u32,
    /// valid, used or canceled, after this inspection.
    pub status: String,
    pub inspected_at: DateTime<Utc>,
}
