//! Records of the buyer's phone: one-time login links, buyer sessions, the live ticket view,
//! device bindings and inspections. Plain data, like `model.rs`.

use crate::model::Ticket;
use admit_domain::{DenyReason, EventKind, TicketId};

/// A one-time login link for an order, stored by the SHA-256 of its random token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLoginLink {
    pub token_hash: [u8; 32],
    pub order_id: String,
    pub now_ms: i64,
    pub expires_at_ms: i64,
}

/// What opening a login link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRedemption {
    /// The link was fresh: it is now used, and the buyer session holds the order.
    Granted { order_id: String },
    /// The link was opened before (single use).
    AlreadyUsed,
    /// The link is older than its lifetime.
    Expired,
    /// No such link.
    Unknown,
}

/// Which device key a credential names, as the browser exported it: `algorithm` is "Ed25519"
/// (32-byte raw key) or "P-256" (65-byte SEC1 uncompressed key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKeyRecord {
    pub algorithm: String,
    pub public_key: Vec<u8>,
}

/// Everything the phone shows about one ticket: the ticket with its event, venue, session
/// (the round), grade and the device it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    pub ticket: Ticket,
    pub event_name: String,
    pub event_kind: EventKind,
    pub route: Option<(String, String)>,
    pub venue_name: String,
    pub venue_city: String,
    pub session_label: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub doors_at_ms: i64,
    pub grade_name: String,
    /// Tickets in the ticket's order (this one included).
    pub order_quantity: u32,
    pub device: Option<DeviceKeyRecord>,
    pub device_bound_at_ms: Option<i64>,
}

/// Re-issue a ticket bound to a device key: the credential (signed for `from_version + 1`
/// naming `device`) and the inspection password of the new version are made before the
/// write, like a new ticket's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindDevice {
    pub ticket_id: TicketId,
    /// The version the device signed its proof over; the bind applies only if it is current.
    pub from_version: u32,
    pub device: DeviceKeyRecord,
    pub credential: String,
    pub inspection_code: String,
    /// Replace another device's binding (the explicit "move to this phone").
    pub rebind: bool,
    pub now_ms: i64,
}

/// What a bind did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    /// Bound (or moved): the ticket is now at `version`, every earlier credential revoked.
    Bound { version: u32 },
    /// The ticket is already bound to exactly this key: nothing changed.
    Unchanged { version: u32 },
    /// Bound to another key and `rebind` was not asked for.
    AlreadyBound,
    /// The ticket moved past `from_version` meanwhile: sign again over the current version.
    VersionMoved { current: u32 },
    /// A cancelled ticket is not re-issued.
    Canceled,
}

/// One logged binding of a ticket to a device key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceBindingLog {
    pub ticket_id: TicketId,
    pub old: Option<DeviceKeyRecord>,
    pub new: DeviceKeyRecord,
    pub from_version: u32,
    pub to_version: u32,
    pub at_ms: i64,
}

/// "Check" pressed on the phone: consume an entry under the gate's rules and log who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectTicket {
    pub ticket_id: TicketId,
    /// SHA-256 of the buyer session that pressed it.
    pub session_hash: [u8; 32],
    /// The credential's validity window, as a gate would read it.
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub now_ms: i64,
}

/// The inspection's verdict and the ticket as it is afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub verdict: Result<crate::model::Admission, DenyReason>,
    pub ticket: Ticket,
}

/// One logged inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionLog {
    pub ticket_id: TicketId,
    pub ticket_version: u32,
    pub session_hash: [u8; 32],
    pub at_ms: i64,
    /// `None` when admitted.
    pub reason: Option<DenyReason>,
}
