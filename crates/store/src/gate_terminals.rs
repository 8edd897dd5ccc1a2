//! Records for gate terminals (issue 4): enrolled devices, the incremental ticket feed they
//! sync, the scans they upload after working offline, and what reconciliation made of them
//! (entries counted, conflicts reported with both sides, entries per gate over time).

use crate::model::Gate;
use admit_domain::{DenyReason, GateId, SessionId, TicketId, TicketStatus};

/// An enrolled gate terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GateDeviceId(pub i64);

impl std::fmt::Display for GateDeviceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A terminal to enrol for one gate; the token (shown once) is stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGateDevice {
    pub gate_id: GateId,
    pub name: String,
    pub token_hash: [u8; 32],
    pub now_ms: i64,
}

/// An enrolled terminal with the gate (and so the venue and organiser) it works for.
#[derive(Debug, Clone, PartialEq)]
pub struct GateDevice {
    pub id: GateDeviceId,
    pub gate: Gate,
    pub name: String,
    pub created_at_ms: i64,
    /// Set once revoked: the token then authorises nothing.
    pub revoked_at_ms: Option<i64>,
}

/// One page of the ticket feed of some sessions: tickets inserted or changed (version,
/// status, entries used) at or after `since`, in ticket id order after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketChangesQuery {
    pub sessions: Vec<SessionId>,
    /// A watermark returned by an earlier page (0: everything).
    pub since: u64,
    pub after: Option<TicketId>,
    pub limit: u32,
}

/// What a gate needs to know about one ticket to decide offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketState {
    pub id: TicketId,
    pub session_id: SessionId,
    pub version: u32,
    pub status: TicketStatus,
    pub entries_used: u32,
    pub max_entries: u32,
    /// The grade's policy (its `max_entries` is the ticket's).
    pub policy: admit_domain::EntryPolicy,
    pub inside: bool,
    pub session_entries: admit_domain::SessionEntries,
    /// The last device presentation accepted for the ticket: a terminal refuses one not newer
    /// (`replayed`) offline too.
    pub last_counter: Option<admit_domain::DeviceCounter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketChanges {
    pub tickets: Vec<TicketState>,
    /// Pass as `since` next time: every change before it is in this feed or an earlier one.
    /// Taken before the page was read, so a change racing with the read is sent again.
    pub watermark: u64,
    /// Whether more rows follow this page.
    pub more: bool,
    /// On the first page (`after` = None) only: how many rows the whole feed has.
    pub total: Option<u64>,
}

/// What the terminal decided offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
    Admit,
    Deny(DenyReason),
}

/// A scan taken on a terminal, uploaded later; `(device, seq)` identifies it for good.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedScan {
    pub seq: i64,
    /// None when the code could not be read as a ticket at all.
    pub ticket_id: Option<TicketId>,
    pub ticket_version: Option<u32>,
    /// The session the gate admitted for; None only for a denial of a code naming none.
    pub session_id: Option<SessionId>,
    /// The event of `session_id`, as the server knows it (a multi-day pass is valid at every
    /// session of its event); `None`: only the ticket's own session.
    pub event_id: Option<admit_domain::EventId>,
    /// Entry or exit (pass-out): an exit admitted offline takes the ticket outside.
    pub direction: admit_domain::Direction,
    pub gate_id: GateId,
    pub verdict: GateVerdict,
    pub scanned_at_ms: i64,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The counter of the device presentation (`ADP1:`) scanned, if it was one: an admit whose
    /// counter is not newer than the last one accepted for the ticket is a `replayed` conflict.
    pub device_counter: Option<u32>,
}

/// What the server made of an uploaded scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// An admit that took one of the ticket's entries.
    Counted,
    /// An admit the server could not count, with the reason the online check would have
    /// given (`already_used`: another gate took the last entry first).
    Conflict(DenyReason),
    /// A denial, logged.
    Recorded,
}

impl UploadOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            UploadOutcome::Counted => "counted",
            UploadOutcome::Conflict(_) => "conflict",
            UploadOutcome::Recorded => "recorded",
        }
    }
}

/// The answer for one uploaded scan, the same however often it is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadResult {
    pub seq: i64,
    pub outcome: UploadOutcome,
    /// The ticket's entries used now (after this upload), when the ticket is known.
    pub entries_used: Option<u32>,
    pub max_entries: Option<u32>,
}

/// One side of a conflict: a scan that admitted the ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmittingScan {
    pub gate_id: GateId,
    /// None for an online check (decided by the server at once).
    pub device_id: Option<GateDeviceId>,
    pub device_name: Option<String>,
    pub at_ms: i64,
}

/// An admit uploaded by a terminal that the server could not count, with the scans that had
/// taken the ticket's entries before it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub ticket_id: Option<TicketId>,
    pub reference: Option<String>,
    pub reason: DenyReason,
    pub device_seq: i64,
    pub uploaded: AdmittingScan,
    pub received_at_ms: i64,
    /// The admits the server had counted for this ticket (online or uploaded), oldest first.
    pub counted: Vec<AdmittingScan>,
}

/// Entries at one gate in one time bucket of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryCount {
    pub bucket_start_ms: i64,
    pub gate_id: GateId,
    /// Admitted by the online check.
    pub online: u64,
    /// Admitted offline and counted when uploaded.
    pub uploaded: u64,
    /// Admitted offline but reported as conflicts.
    pub conflicts: u64,
}
