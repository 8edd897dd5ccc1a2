//! The entry rules: one function decides admit or deny, shared by the server's online check
//! and the gate terminal's offline check, so both apply exactly the same policy (DESIGN §5).

use crate::{EventId, SessionId, TicketStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A grade's entry policy, copied in effect to each of its tickets.
///
/// - *Single entry*: `max_entries: 1`. *N entries*: `max_entries: N` (in and out freely, N
///   scans in all).
/// - *Re-entry with pass-out* (`reentry`): one person at a time. An entry marks the ticket
///   inside; an exit scan (pass-out) marks it outside again, and only then may it enter again,
///   up to `max_entries` entries in all. Entry while inside is `already_inside`, exit while
///   outside is `not_inside`.
/// - *Multi-day pass* (`multi_day`): valid at every session (day) of its event, with
///   `max_entries` entries *per session*. Not combinable with `reentry` (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPolicy {
    pub max_entries: u32,
    #[serde(default)]
    pub reentry: bool,
    #[serde(default)]
    pub multi_day: bool,
}

/// Most entries a policy may allow (per session for a pass).
pub const MAX_ENTRIES_LIMIT: u32 = 1_000;

impl EntryPolicy {
    pub const SINGLE: EntryPolicy = EntryPolicy::entries(1);

    /// `n` entries, no pass-out, this session only.
    pub const fn entries(n: u32) -> EntryPolicy {
        EntryPolicy { max_entries: n, reentry: false, multi_day: false }
    }

    /// Why an organiser's policy cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.max_entries == 0 || self.max_entries > MAX_ENTRIES_LIMIT {
            return Err(format!("max_entries must be between 1 and {MAX_ENTRIES_LIMIT}"));
        }
        if self.reentry && self.multi_day {
            return Err("a multi-day pass cannot also be a re-entry (pass-out) ticket".into());
        }
        Ok(())
    }

    /// The policy's name as shown to people and in JSON: `single`, `entries`, `reentry`,
    /// `multi_day`.
    pub fn kind(&self) -> &'static str {
        match (self.reentry, self.multi_day, self.max_entries) {
            (true, _, _) => "reentry",
            (false, true, _) => "multi_day",
            (false, false, 1) => "single",
            (false, false, _) => "entries",
        }
    }
}

/// Which way a person passes the gate. Entry is the default: a scan without a direction is an
/// entry, as before directions existed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Entry,
    Exit,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Entry => "entry",
            Direction::Exit => "exit",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "entry" => Some(Direction::Entry),
            "exit" => Some(Direction::Exit),
            _ => None,
        }
    }
}

/// Entries a multi-day pass took per session, stored as text `session:count,…` (sessions
/// ascending; empty for every other ticket) so one guarded update on the ticket row covers it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionEntries(pub BTreeMap<i64, u32>);

impl SessionEntries {
    pub fn parse(text: &str) -> Option<SessionEntries> {
        let mut map = BTreeMap::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (session, count) = part.split_once(':')?;
            map.insert(session.parse().ok()?, count.parse().ok()?);
        }
        Some(SessionEntries(map))
    }

    pub fn to_text(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(s, n)| format!("{s}:{n}")).collect();
        parts.join(",")
    }

    pub fn at(&self, session: SessionId) -> u32 {
        self.0.get(&session.0).copied().unwrap_or(0)
    }
}

/// The newest device presentation (`ADP1:`) a gate accepted for a ticket: the ticket version
/// it was signed for and its counter (the phone's clock in seconds when it signed). A
/// presentation of that version whose counter is not newer is a replay (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCounter {
    pub version: u32,
    pub counter: u32,
}

impl DeviceCounter {
    /// Whether a presentation of `version` with `counter` was already used (or an older one
    /// was accepted after it): same version, counter not newer.
    pub fn refuses(&self, version: u32, counter: u32) -> bool {
        self.version == version && counter <= self.counter
    }

    /// The newer of two remembered counters of the same version; a counter of a later version
    /// replaces an earlier version's (a re-issue starts afresh).
    pub fn newest(a: Option<DeviceCounter>, b: Option<DeviceCounter>) -> Option<DeviceCounter> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if (b.version, b.counter) > (a.version, a.counter) { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// The ticket's entry counters: what one guarded update compares and replaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryState {
    /// Entries taken (for a multi-day pass: at the session scanned last).
    pub entries_used: u32,
    /// The holder entered and has not passed out (meaningful for re-entry tickets).
    pub inside: bool,
    /// A multi-day pass's entries per session.
    pub per_session: SessionEntries,
    /// The last device presentation accepted (entry or exit), if any: a presentation is
    /// single-use whatever the policy.
    pub last_counter: Option<DeviceCounter>,
}

impl EntryState {
    /// The state after an admitted scan at `session` in `direction` (what `decide_entry`
    /// returns on admit; an offline gate also replays its own not-yet-uploaded admits with it).
    /// An entry marks the ticket inside whatever its policy: `inside` is read only under a
    /// re-entry policy, and the per-session counts only for a multi-day pass.
    pub fn after(&self, policy: &EntryPolicy, session: SessionId, direction: Direction) -> EntryState {
        let mut after = self.clone();
        match direction {
            Direction::Entry => {
                let used = if policy.multi_day { self.per_session.at(session) } else { self.entries_used };
                after.entries_used = used.saturating_add(1);
                after.inside = true;
                if policy.multi_day {
                    after.per_session.0.insert(session.0, after.entries_used);
                }
            }
            Direction::Exit => after.inside = false,
        }
        after
    }
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
    #[error("the ticket's holder is already inside: pass out at an exit first")]
    AlreadyInside,
    #[error("the ticket's holder is not inside, so cannot pass out")]
    NotInside,
    #[error("this ticket does not allow re-entry: there is no pass-out")]
    NoReentry,
    #[error("this phone code was already used: ask the holder to show the live ticket page, not a photo or screenshot")]
    Replayed,
    #[error(
        "this gate's ticket list is out of date (the ticket was re-issued since the last sync): sync the gate, then scan again"
    )]
    ListOutOfDate,
    #[error("the ticket is for another event, not one at this venue")]
    WrongEvent,
}

impl DenyReason {
    pub const ALL: [DenyReason; 21] = [
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
        DenyReason::AlreadyInside,
        DenyReason::NotInside,
        DenyReason::NoReentry,
        DenyReason::Replayed,
        DenyReason::ListOutOfDate,
        DenyReason::WrongEvent,
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
            DenyReason::AlreadyInside => "already_inside",
            DenyReason::NotInside => "not_inside",
            DenyReason::NoReentry => "no_reentry",
            DenyReason::Replayed => "replayed",
            DenyReason::ListOutOfDate => "list_out_of_date",
            DenyReason::WrongEvent => "wrong_event",
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
    pub event_id: EventId,
    pub state: EntryState,
    pub policy: EntryPolicy,
}

impl TicketAtGate {
    /// Entries counted against the allowance at `session`: per session for a pass.
    pub fn entries_at(&self, session: SessionId) -> u32 {
        if self.policy.multi_day { self.state.per_session.at(session) } else { self.state.entries_used }
    }
}

/// What the scan presents, from an already signature-checked credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanContext {
    pub presented_version: u32,
    pub presented_session: SessionId,
    /// The session the gate is admitting for.
    pub gate_session: SessionId,
    /// The gate session's event, when known: a multi-day pass is valid at every session of
    /// its event, so a pass at another session needs it (unknown: that session denies).
    pub gate_event: Option<EventId>,
    pub direction: Direction,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub now_ms: i64,
    /// A device presentation's counter (`ADP1:`); `None` for a static credential.
    pub device_counter: Option<u32>,
}

/// Admit (Ok, with the ticket's entry state after the scan) or deny with the first failing
/// reason, in a fixed order: cancelled, revoked version, wrong event (the gate's session is of
/// another event, when known), wrong session, validity window, a
/// device presentation not newer than the last one accepted (`replayed`, whatever the policy
/// and direction), then the policy (entry: inside, entries left; exit: pass-out allowed,
/// inside).
pub fn decide_entry(ticket: &TicketAtGate, scan: &ScanContext) -> Result<EntryState, DenyReason> {
    if ticket.status == TicketStatus::Canceled {
        return Err(DenyReason::Canceled);
    }
    if scan.presented_version != ticket.current_version {
        return Err(DenyReason::RevokedVersion);
    }
    if scan.gate_event.is_some_and(|event| event != ticket.event_id) {
        return Err(DenyReason::WrongEvent);
    }
    let gate_ok =
        scan.gate_session == ticket.session_id || (ticket.policy.multi_day && scan.gate_event == Some(ticket.event_id));
    if scan.presented_session != ticket.session_id || !gate_ok {
        return Err(DenyReason::WrongSession);
    }
    if scan.now_ms < scan.valid_from_ms {
        return Err(DenyReason::NotYetValid);
    }
    if scan.now_ms > scan.valid_until_ms {
        return Err(DenyReason::Expired);
    }
    if let (Some(counter), Some(last)) = (scan.device_counter, ticket.state.last_counter)
        && last.refuses(scan.presented_version, counter)
    {
        return Err(DenyReason::Replayed);
    }
    match scan.direction {
        Direction::Entry => {
            if ticket.policy.reentry && ticket.state.inside {
                return Err(DenyReason::AlreadyInside);
            }
            if ticket.entries_at(scan.gate_session) >= ticket.policy.max_entries {
                return Err(DenyReason::AlreadyUsed);
            }
        }
        Direction::Exit => {
            if !ticket.policy.reentry {
                return Err(DenyReason::NoReentry);
            }
            if !ticket.state.inside {
                return Err(DenyReason::NotInside);
            }
        }
    }
    let mut after = ticket.state.after(&ticket.policy, scan.gate_session, scan.direction);
    if let Some(counter) = scan.device_counter {
        after.last_counter = Some(DeviceCounter { version: scan.presented_version, counter });
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> TicketAtGate {
        TicketAtGate {
            status: TicketStatus::Valid,
            current_version: 2,
            session_id: SessionId(7),
            event_id: EventId(3),
            state: EntryState::default(),
            policy: EntryPolicy::SINGLE,
        }
    }

    fn scan() -> ScanContext {
        ScanContext {
            presented_version: 2,
            presented_session: SessionId(7),
            gate_session: SessionId(7),
            gate_event: Some(EventId(3)),
            direction: Direction::Entry,
            valid_from_ms: 1_000,
            valid_until_ms: 2_000,
            now_ms: 1_500,
            device_counter: None,
        }
    }

    fn shown(counter: u32) -> ScanContext {
        ScanContext { device_counter: Some(counter), ..scan() }
    }

    fn used(t: TicketAtGate, n: u32) -> TicketAtGate {
        TicketAtGate { state: EntryState { entries_used: n, ..t.state.clone() }, ..t }
    }

    fn reentry(max_entries: u32) -> TicketAtGate {
        TicketAtGate { policy: EntryPolicy { max_entries, reentry: true, multi_day: false }, ..ticket() }
    }

    fn pass(max_entries: u32) -> TicketAtGate {
        TicketAtGate { policy: EntryPolicy { max_entries, reentry: false, multi_day: true }, ..ticket() }
    }

    fn exit() -> ScanContext {
        ScanContext { direction: Direction::Exit, ..scan() }
    }

    fn at_session(session: i64, event: i64) -> ScanContext {
        ScanContext { gate_session: SessionId(session), gate_event: Some(EventId(event)), ..scan() }
    }

    /// Applies the scan to the ticket as the store would on an admit.
    fn apply(t: &TicketAtGate, s: &ScanContext) -> Result<TicketAtGate, DenyReason> {
        decide_entry(t, s).map(|state| TicketAtGate { state, ..t.clone() })
    }

    #[test]
    fn a_fresh_valid_ticket_is_admitted() {
        assert_eq!(decide_entry(&ticket(), &scan()).map(|s| s.entries_used), Ok(1));
    }

    #[test]
    fn second_entry_on_a_single_entry_ticket_is_denied() {
        let t = used(ticket(), 1);
        assert_eq!(decide_entry(&t, &scan()), Err(DenyReason::AlreadyUsed));
    }

    #[test]
    fn a_multi_entry_pass_admits_until_its_entries_are_spent() {
        let mut t = TicketAtGate { policy: EntryPolicy::entries(3), ..ticket() };
        for n in 0..3 {
            t = used(t, n);
            assert_eq!(decide_entry(&t, &scan()).map(|s| s.entries_used), Ok(n + 1));
        }
        t = used(t, 3);
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
        let t = TicketAtGate { status: TicketStatus::Canceled, ..used(ticket(), 9) };
        assert_eq!(decide_entry(&t, &ScanContext { presented_version: 1, ..scan() }), Err(DenyReason::Canceled));
    }

    #[test]
    fn a_pass_out_ticket_enters_is_refused_while_inside_and_enters_again_after_an_exit() {
        let t = reentry(5);
        let inside = apply(&t, &scan()).unwrap();
        assert_eq!((inside.state.entries_used, inside.state.inside), (1, true));
        assert_eq!(decide_entry(&inside, &scan()), Err(DenyReason::AlreadyInside));
        let outside = apply(&inside, &exit()).unwrap();
        assert_eq!((outside.state.entries_used, outside.state.inside), (1, false));
        let again = apply(&outside, &scan()).unwrap();
        assert_eq!((again.state.entries_used, again.state.inside), (2, true));
    }

    #[test]
    fn an_exit_of_a_holder_who_is_not_inside_is_denied() {
        assert_eq!(decide_entry(&reentry(5), &exit()), Err(DenyReason::NotInside));
    }

    #[test]
    fn an_exit_scan_of_a_ticket_without_pass_out_is_denied() {
        assert_eq!(decide_entry(&ticket(), &exit()), Err(DenyReason::NoReentry));
        assert_eq!(decide_entry(&used(ticket(), 1), &exit()), Err(DenyReason::NoReentry));
    }

    #[test]
    fn a_pass_out_ticket_stops_at_its_entry_allowance() {
        let mut t = reentry(2);
        for _ in 0..2 {
            t = apply(&apply(&t, &scan()).unwrap(), &exit()).unwrap();
        }
        assert_eq!(decide_entry(&t, &scan()), Err(DenyReason::AlreadyUsed));
    }

    #[test]
    fn a_multi_day_pass_admits_once_per_session_of_its_event() {
        let t = pass(1);
        let day1 = apply(&t, &scan()).unwrap();
        assert_eq!(decide_entry(&day1, &scan()), Err(DenyReason::AlreadyUsed));
        let day2 = apply(&day1, &at_session(8, 3)).unwrap();
        assert_eq!(day2.state.per_session.to_text(), "7:1,8:1");
        assert_eq!(decide_entry(&day2, &at_session(8, 3)), Err(DenyReason::AlreadyUsed));
        assert_eq!(decide_entry(&day2, &scan()), Err(DenyReason::AlreadyUsed), "going back to day 1 counts day 1");
    }

    #[test]
    fn a_multi_day_pass_is_refused_at_another_event_or_an_unknown_one() {
        assert_eq!(decide_entry(&pass(1), &at_session(8, 4)), Err(DenyReason::WrongEvent));
        assert_eq!(decide_entry(&ticket(), &at_session(8, 4)), Err(DenyReason::WrongEvent));
        let unknown = ScanContext { gate_event: None, ..at_session(8, 3) };
        assert_eq!(decide_entry(&pass(1), &unknown), Err(DenyReason::WrongSession));
        let claims_other = ScanContext { presented_session: SessionId(8), ..at_session(8, 3) };
        assert_eq!(decide_entry(&pass(1), &claims_other), Err(DenyReason::WrongSession));
    }

    #[test]
    fn a_single_session_ticket_stays_denied_at_another_session_of_its_event() {
        assert_eq!(decide_entry(&ticket(), &at_session(8, 3)), Err(DenyReason::WrongSession));
    }

    #[test]
    fn the_same_phone_code_admits_once_even_on_a_multi_entry_ticket() {
        let t = TicketAtGate { policy: EntryPolicy::entries(3), ..ticket() };
        let first = apply(&t, &shown(100)).unwrap();
        assert_eq!(first.state.last_counter, Some(DeviceCounter { version: 2, counter: 100 }));
        assert_eq!(decide_entry(&first, &shown(100)), Err(DenyReason::Replayed));
        assert_eq!(decide_entry(&first, &shown(99)), Err(DenyReason::Replayed), "an older code too");
        let second = apply(&first, &shown(101)).unwrap();
        assert_eq!(second.state.entries_used, 2);
        assert_eq!(
            decide_entry(&second, &scan()),
            Ok(EntryState { entries_used: 3, inside: true, ..second.state.clone() }),
            "a static scan carries no counter"
        );
    }

    #[test]
    fn a_replayed_code_is_refused_before_the_policy_says_anything_else() {
        let once = apply(&ticket(), &shown(100)).unwrap();
        assert_eq!(decide_entry(&once, &shown(100)), Err(DenyReason::Replayed));
        assert_eq!(decide_entry(&once, &shown(101)), Err(DenyReason::AlreadyUsed));
    }

    #[test]
    fn a_pass_out_ticket_cannot_leave_or_return_on_a_code_it_already_used() {
        let inside = apply(&reentry(5), &shown(100)).unwrap();
        let leaving = ScanContext { direction: Direction::Exit, ..shown(100) };
        assert_eq!(decide_entry(&inside, &leaving), Err(DenyReason::Replayed));
        let outside = apply(&inside, &ScanContext { direction: Direction::Exit, ..shown(105) }).unwrap();
        assert_eq!(decide_entry(&outside, &shown(105)), Err(DenyReason::Replayed));
        assert!(decide_entry(&outside, &shown(106)).is_ok());
    }

    #[test]
    fn a_re_issued_ticket_starts_its_counter_afresh() {
        let t = TicketAtGate {
            state: EntryState {
                last_counter: Some(DeviceCounter { version: 1, counter: 500 }),
                ..EntryState::default()
            },
            ..ticket()
        };
        assert!(decide_entry(&t, &shown(100)).is_ok(), "version 2's first code is not compared with version 1's");
        let a = Some(DeviceCounter { version: 1, counter: 500 });
        let b = Some(DeviceCounter { version: 2, counter: 100 });
        assert_eq!(DeviceCounter::newest(a, b), b);
        assert_eq!(DeviceCounter::newest(b, None), b);
    }

    #[test]
    fn policies_are_checked() {
        assert!(EntryPolicy::entries(0).check().is_err());
        assert!(EntryPolicy::entries(MAX_ENTRIES_LIMIT + 1).check().is_err());
        assert!(EntryPolicy { max_entries: 1, reentry: true, multi_day: true }.check().is_err());
        assert!(EntryPolicy { max_entries: 3, reentry: true, multi_day: false }.check().is_ok());
        assert_eq!(EntryPolicy::SINGLE.kind(), "single");
        assert_eq!(EntryPolicy::entries(2).kind(), "entries");
    }

    #[test]
    fn session_entries_round_trip_as_text() {
        let e = SessionEntries::parse("3:1,12:2").unwrap();
        assert_eq!((e.at(SessionId(3)), e.at(SessionId(12)), e.at(SessionId(4))), (1, 2, 0));
        assert_eq!(e.to_text(), "3:1,12:2");
        assert_eq!(SessionEntries::parse("").unwrap(), SessionEntries::default());
        assert!(SessionEntries::parse("3").is_none());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever the order of entry and exit scans, a pass-out ticket never has two
            /// people inside, never exceeds its allowance, and entries and exits alternate.
            #[test]
            fn pass_out_never_admits_past_its_policy(max in 1u32..6, exits in proptest::collection::vec(any::<bool>(), 0..40)) {
                let mut t = reentry(max);
                let mut admitted_entries = 0;
                for is_exit in exits {
                    let s = if is_exit { exit() } else { scan() };
                    if let Ok(next) = apply(&t, &s) {
                        prop_assert_ne!(next.state.inside, t.state.inside, "every admit flips inside");
                        if !is_exit { admitted_entries += 1; }
                        t = next;
                    }
                    prop_assert!(t.state.entries_used <= max);
                }
                prop_assert_eq!(admitted_entries, t.state.entries_used);
            }

            /// A pass admits at most `max` times per session, in any order of sessions.
            #[test]
            fn a_pass_admits_at_most_its_allowance_per_session(max in 1u32..4, days in proptest::collection::vec(7i64..11, 0..40)) {
                let mut t = pass(max);
                let mut per_day = BTreeMap::new();
                for day in days {
                    if let Ok(next) = apply(&t, &at_session(day, 3)) {
                        *per_day.entry(day).or_insert(0u32) += 1;
                        t = next;
                    }
                }
                for (day, n) in per_day {
                    prop_assert!(n <= max);
                    prop_assert_eq!(t.state.per_session.at(SessionId(day)), n);
                }
            }
        }
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
