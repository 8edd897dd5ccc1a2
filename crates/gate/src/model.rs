//! Plain records the terminal keeps and exchanges: its enrolment, a sync page as received,
//! what is known locally about a session or a ticket, scans to log and to upload, verdicts.

use admit_domain::{DenyReason, DeviceCounter, Direction, EntryPolicy};

/// Who this terminal is on which server (stored in the local file by `admit gate enrol`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// Base URL, e.g. `https://tickets.example.com`.
    pub server: String,
    pub device_id: i64,
    pub device_token: String,
    pub gate_id: i64,
    pub venue_id: i64,
    pub name: String,
    pub enrolled_at_ms: i64,
}

/// A session as synced, with its event's key and credential policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSession {
    pub id: i64,
    pub event_id: i64,
    pub event_name: String,
    pub name: String,
    pub starts_at_ms: i64,
    pub doors_at_ms: i64,
    pub ends_at_ms: i64,
    pub key_id: u32,
    pub static_accepted: bool,
    pub rotation_seconds: u32,
    pub proof_window_seconds: u32,
    /// (grade code, entry policy)
    pub grades: Vec<(String, EntryPolicy)>,
}

/// A ticket's state as synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTicket {
    pub id: i64,
    pub session_id: i64,
    pub version: u32,
    pub status: String,
    pub entries_used: u32,
    pub max_entries: u32,
    /// Entered and not passed out (re-entry tickets).
    pub inside: bool,
    /// A multi-day pass's entries per session, `session:count,…`.
    pub session_entries: String,
    /// The last phone presentation the server accepted for the ticket.
    pub last_counter: Option<DeviceCounter>,
}

/// One page of `GET /gate/sync`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPage {
    pub keys: Vec<(u32, [u8; 32])>,
    /// Keys of the organiser's events at other venues: to tell their tickets (`wrong_event`)
    /// from forgeries, never to admit.
    pub other_event_keys: Vec<(u32, [u8; 32])>,
    pub sessions: Vec<SyncSession>,
    pub tickets: Vec<SyncTicket>,
    pub total_tickets: Option<u64>,
    pub next_page: Option<String>,
    pub cursor: String,
}

/// What the local file says about a session when deciding a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSession {
    pub id: i64,
    pub event_id: i64,
    pub event_name: String,
    pub name: String,
    /// The event's key: a credential must be signed with it.
    pub key_id: u32,
    pub static_accepted: bool,
    pub proof_window_seconds: u32,
}

/// A listed ticket's synced state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTicket {
    pub session_id: i64,
    pub version: u32,
    pub status: String,
    pub server_entries_used: u32,
    pub max_entries: u32,
    pub server_inside: bool,
    pub server_session_entries: String,
    /// The last phone presentation the server had accepted at the last sync.
    pub server_last_counter: Option<DeviceCounter>,
}

/// An admit in this terminal's log the server's state (as synced) does not include yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAdmit {
    pub session_id: Option<i64>,
    pub direction: Direction,
}

/// A scan to write to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScan {
    pub scanned_at_ms: i64,
    pub gate_id: i64,
    pub session_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub ticket_version: Option<u32>,
    /// None: admitted.
    pub reason: Option<DenyReason>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Decided by the server: it knows the scan already, so it is never uploaded.
    pub online: bool,
    /// Online admits: the ticket's entry count the server answered.
    pub server_entries_used: Option<u32>,
    /// Entry, or exit at an exit lane's terminal.
    pub direction: Direction,
    /// The counter of the phone presentation scanned (`ADP1:`), if it was one.
    pub device_counter: Option<u32>,
}

/// A logged scan waiting for upload.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingScan {
    pub seq: i64,
    pub scanned_at_ms: i64,
    pub gate_id: i64,
    pub session_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub ticket_version: Option<u32>,
    pub reason: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub direction: Direction,
    /// Uploaded with the scan: the server refuses an admit of a presentation not newer than
    /// the last one it accepted (a `replayed` conflict).
    pub device_counter: Option<u32>,
}

/// What the ticket holder and the staff see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// None: admit.
    pub deny: Option<DenyReason>,
    /// The ticket reference (`ADM-…`), when the code named a ticket.
    pub reference: Option<String>,
    pub seat: Option<String>,
    pub grade: Option<String>,
    /// People this scan lets in (0 on deny and on an exit).
    pub admits: u32,
    /// Entry, or exit (a pass-out) at an exit lane.
    pub direction: Direction,
    /// A re-entry ticket's holder is inside after this scan (admitted re-entry tickets only).
    pub inside: Option<bool>,
    /// The ticket's policy (single, entries, reentry, multi_day), when known.
    pub entry_policy: Option<&'static str>,
    /// After this scan.
    pub entries_used: Option<u32>,
    pub max_entries: Option<u32>,
    pub session_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub ticket_version: Option<u32>,
    /// Decided by the server (online) rather than from the local file.
    pub online: bool,
    /// The counter of the phone presentation scanned (`ADP1:`), if the code was one whose
    /// signatures checked out: logged with the scan, so an admitted one is not admitted again.
    pub device_counter: Option<u32>,
}

impl Verdict {
    pub fn is_admit(&self) -> bool {
        self.deny.is_none()
    }
}
