//! The entry rules: one function decides admit or deny, shared by the server's online check
//! and the gate terminal's offline check, so both apply exactly the same policy (DESIGN §5).

use crate::{SessionId, TicketStatus};
use serde::{Deserialize, Serialize};

/// How many entries a ticket allows. Single entry is `max_entries: 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPolicy {
    pub max_entries: u32,
}

impl EntryPolicy {
    pub const SINGLE: EntryPolicy = EntryPolicy { max_entries: 1 };
}

/// Why a scan was denied. Codes are stable: gates, logs and reports key on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    #[error("the code could not be read as an Admit credential")]
    Malformed,
    #[error("the credential format version is not supported")]
    UnsupportedVersion,
    #[error("the credential was signed with a key this gate does not know")]
    UnknownKey,
    #[error("the credential's signature is not valid")]
    BadSignature,
    #[error("no such ticket")]
    UnknownTicket,
    #[error("this version of the ticket was replaced by a newer one")]
    RevokedVersion,
    #[error("the ticket was cancelled")]
    Canceled,
    #[error("the ticket is for another session")]
    WrongSession,
    #[error("the ticket is not valid yet")]
    NotYetValid,
    #[error("the ticket has expired")]
    Expired,
    #[error("the ticket was already used")]
    AlreadyUsed,
    #[error("the ticket is bound to a phone but no device proof was presented")]
    DeviceProofMissing,
    #[error("the phone's signature does not match the phone this ticket is bound to")]
    BadDeviceSignature,
    #[error("the phone's code is too old (or its clock is wrong): refresh the ticket page")]
    StaleProof,
    #[error("this event does not accept printed or static tickets: show the ticket on your phone")]
    StaticNotAccepted,
}

impl DenyReason {
    pub const ALL: [DenyReason; 15] = [
        DenyReason::Malformed,
        DenyReason::UnsupportedVersion,
        DenyReason::UnknownKey,
        DenyReason::BadSignature,
        DenyReason::UnknownTicket,
        DenyReason::RevokedVersion,
        DenyReason::Canceled,
        DenyReason::WrongSession,
        DenyReason::NotYetValid,
        DenyReason::Expired,
        DenyReason::AlreadyUsed,
        DenyReason::DeviceProofMissing,
        DenyReason::BadDeviceSignature,
        DenyReason::StaleProof,
        DenyReason::StaticNotAccepted,
    ];

    /// The stable machine code, e.g. `already_used`.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::Malformed => "malformed",
            DenyReason::UnsupportedVersion => "unsupported_version",
            DenyReason::UnknownKey => "unknown_key",
            DenyReason::BadSignature => "bad_signature",
            DenyReason::UnknownTicket => "unknown_ticket",
            DenyReason::RevokedVersion => "revoked_version",
            DenyReason::Canceled => "canceled",
            DenyReason::WrongSession => "wrong_session",
            DenyReason::NotYetValid => "not_yet_valid",
            DenyReason::Expired => "expired",
            DenyReason::AlreadyUsed => "already_used",
            DenyReason::DeviceProofMissing => "device_proof_missing",
            DenyReason::BadDeviceSignature => "bad_device_signature",
            DenyReason::StaleProof => "stale_proof",
            DenyReason::StaticNotAccepted => "static_not_accepted",
        }
    }

    pub fn parse(code: &str) -> Option<DenyReason> {
        DenyReason::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What the deciding side knows about the ticket (server: its database; gate: its sync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketAtGate {
    pub status: TicketStatus,
    pub current_version: u32,
    pub session_id: SessionId,
    pub entries_used: u32,
    pub policy: EntryPolicy,
}

/// What the scan presents, from an already signature-checked credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanContext {
    pub presented_version: u32,
    pub presented_session: SessionId,
    /// The session the gate is admitting for.
    pub gate_session: SessionId,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub now_ms: i64,
}

/// Admit (Ok) or deny with the first failing reason, in a fixed order: cancelled, revoked
/// version, wrong session, validity window, entries left.
pub fn decide_entry(ticket: &TicketAtGate, scan: &ScanContext) -> Result<(), DenyReason> {
    if ticket.status == TicketStatus::Canceled {
        return Err(DenyReason::Canceled);
    }
    if scan.presented_version != ticket.current_version {
        return Err(DenyReason::RevokedVersion);
    }
    if scan.presented_session != ticket.session_id || scan.gate_session != ticket.session_id {
        return Err(DenyReason::WrongSession);
    }
    if scan.now_ms < scan.valid_from_ms {
        return Err(DenyReason::NotYetValid);
    }
    if scan.now_ms > scan.valid_until_ms {
        return Err(DenyReason::Expired);
    }
    if ticket.entries_used >= ticket.policy.max_entries {
        return Err(DenyReason::AlreadyUsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> TicketAtGate {
        TicketAtGate {
            status: TicketStatus::Valid,
            current_version: 2,
            session_id: SessionId(7),
            entries_used: 0,
            policy: EntryPolicy::SINGLE,
        }
    }

    fn scan() -> ScanContext {
        ScanContext {
            presented_version: 2,
            presented_session: SessionId(7),
            gate_session: SessionId(7),
            valid_from_ms: 1_000,
            valid_until_ms: 2_000,
            now_ms: 1_500,
        }
    }

    #[test]
    fn a_fresh_valid_ticket_is_admitted() {
        assert_eq!(decide_entry(&ticket(), &scan()), Ok(()));
    }

    #[test]
    fn second_entry_on_a_single_entry_ticket_is_denied() {
        let t = TicketAtGate { entries_used: 1, ..ticket() };
        assert_eq!(decide_entry(&t, &scan()), Err(DenyReason::AlreadyUsed));
    }

    #[test]
    fn a_multi_entry_pass_admits_until_its_entries_are_spent() {
        let mut t = TicketAtGate { policy: EntryPolicy { max_entries: 3 }, ..ticket() };
        for used in 0..3 {
            t.entries_used = used;
            assert_eq!(decide_entry(&t, &scan()), Ok(()));
        }
        t.entries_used = 3;
        assert_eq!(decide_entry(&t, &scan()), Err(DenyReason::AlreadyUsed));
    }

    #[test]
    fn an_older_version_is_revoked() {
        let s = ScanContext { presented_version: 1, ..scan() };
        assert_eq!(decide_entry(&ticket(), &s), Err(DenyReason::RevokedVersion));
    }

    #[test]
    fn another_session_is_denied() {
        let s = ScanContext { gate_session: SessionId(8), ..scan() };
        assert_eq!(decide_entry(&ticket(), &s), Err(DenyReason::WrongSession));
    }

    #[test]
    fn the_validity_window_is_enforced_at_both_ends() {
        assert_eq!(decide_entry(&ticket(), &ScanContext { now_ms: 999, ..scan() }), Err(DenyReason::NotYetValid));
        assert_eq!(decide_entry(&ticket(), &ScanContext { now_ms: 2_001, ..scan() }), Err(DenyReason::Expired));
    }

    #[test]
    fn cancellation_wins_over_every_other_reason() {
        let t = TicketAtGate { status: TicketStatus::Canceled, entries_used: 9, ..ticket() };
        assert_eq!(decide_entry(&t, &ScanContext { presented_version: 1, ..scan() }), Err(DenyReason::Canceled));
    }

    #[test]
    fn reason_codes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for r in DenyReason::ALL {
            assert!(seen.insert(r.code()));
            assert_eq!(DenyReason::parse(r.code()), Some(r));
        }
    }
}
