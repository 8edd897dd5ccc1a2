//! The offline decision: everything the online check decides, from the local file alone.
//!
//! In order: the code is read and its signature checked over the exact bytes with the synced
//! keys (a device-bound credential needs a fresh device proof, within the event's window);
//! the key must be the one of the ticket's own event; the ticket must be for a session of this
//! venue (the one the gate admits for, when it is fixed); then `admit_domain::decide_entry`,
//! the same function the server runs, on the synced version/revocation list with the entries
//! counted so far (the server's state at the last sync with this terminal's own admits since
//! replayed on it: entries, and exits at an exit lane's terminal, which pass a re-entry ticket
//! out). A multi-day pass is admitted at any session of its event this venue holds.
//!
//! A genuine credential of a ticket the list does not hold yet was issued after the last sync:
//! it is checked like a listed ticket whose entries are only those in this terminal's log, with
//! its grade's entry allowance; the upload reconciles it. A credential of a newer version than
//! the list holds was re-issued after the last sync: `list_out_of_date` (sync, then scan again).
//!
//! A phone presentation (`ADP1:`) admits once: one whose counter is not newer than the last
//! one accepted for the ticket's version, by the server (as synced) or by this terminal (its
//! log), is `replayed`. A credential signed with the key of one of the organiser's events at
//! another venue (synced for this alone) is `wrong_event`, not `unknown_key`.

use crate::GateError;
use crate::local::LocalDb;
use crate::model::{LocalSession, Verdict};
use admit_credential::{KeyRing, Payload, ProofPolicy, Rejection, Scanned, Verified, ticket_reference};
use admit_domain::{
    DenyReason, DeviceCounter, Direction, EntryPolicy, EntryState, EventId, ScanContext, SessionEntries, SessionId,
    TicketAtGate, TicketStatus, decide_entry,
};

fn rejection_reason(r: Rejection) -> DenyReason {
    match r {
        Rejection::Malformed => DenyReason::Malformed,
        Rejection::UnsupportedVersion => DenyReason::UnsupportedVersion,
        Rejection::UnknownKey => DenyReason::UnknownKey,
        Rejection::BadSignature => DenyReason::BadSignature,
        Rejection::DeviceProofMissing => DenyReason::DeviceProofMissing,
        Rejection::BadDeviceSignature => DenyReason::BadDeviceSignature,
        Rejection::StaleProof => DenyReason::StaleProof,
    }
}

/// Checks the signatures: the issuer's over the exact credential bytes, and for a
/// device-bound credential the device's proof, fresh within the event's window. A static
/// credential is refused where the event no longer accepts them.
fn check_code(
    ring: &KeyRing,
    scanned: &Scanned,
    session: Option<&LocalSession>,
    now_ms: i64,
) -> Result<Verified, DenyReason> {
    let policy = session.map_or_else(ProofPolicy::default, |s| ProofPolicy::symmetric(s.proof_window_seconds));
    let verified = ring.verify_scanned(scanned, now_ms.div_euclid(1000), &policy).map_err(rejection_reason)?;
    if !verified.device_proof && session.is_some_and(|s| !s.static_accepted) {
        return Err(DenyReason::StaticNotAccepted);
    }
    Ok(verified)
}

fn deny(reason: DenyReason, payload: Option<&Payload>, direction: Direction) -> Verdict {
    Verdict {
        deny: Some(reason),
        reference: payload.map(|p| ticket_reference(p.ticket_id)),
        seat: payload.and_then(|p| (!p.seat.is_empty()).then(|| p.seat.clone())),
        grade: payload.map(|p| p.grade.clone()),
        admits: 0,
        direction,
        inside: None,
        entry_policy: None,
        entries_used: None,
        max_entries: None,
        session_id: payload.and_then(|p| i64::try_from(p.session_id).ok()),
        ticket_id: payload.and_then(|p| i64::try_from(p.ticket_id).ok()),
        ticket_version: payload.map(|p| p.ticket_version),
        online: false,
        device_counter: None,
    }
}

/// Decides a scanned code with what the local file holds. `gate_session` fixes the session the
/// gate admits for; without it, any session of this venue the ticket is for. `direction` is
/// the lane's: entry, or exit (a pass-out).
pub async fn decide_offline(
    db: &LocalDb,
    ring: &KeyRing,
    code: &str,
    gate_session: Option<i64>,
    direction: Direction,
    now_ms: i64,
) -> Result<Verdict, GateError> {
    let scanned = match Scanned::parse(code) {
        Ok(scanned) => scanned,
        Err(r) => return Ok(deny(rejection_reason(r), None, direction)),
    };
    let verdict = decide_scanned(db, ring, &scanned, gate_session, direction, now_ms).await?;
    Ok(Verdict { device_counter: scanned.counter(), ..verdict })
}

async fn decide_scanned(
    db: &LocalDb,
    ring: &KeyRing,
    scanned: &Scanned,
    gate_session: Option<i64>,
    direction: Direction,
    now_ms: i64,
) -> Result<Verdict, GateError> {
    let deny = |reason, payload: Option<&Payload>| deny(reason, payload, direction);
    // The session the code claims, read before the signature is checked: only to pick the
    // event's proof window and policy, never to decide.
    let claimed = scanned.credential().payload_unverified().ok();
    let session = match claimed.as_ref().and_then(|p| i64::try_from(p.session_id).ok()) {
        Some(id) => db.session(id).await?,
        None => None,
    };
    let payload = match check_code(ring, scanned, session.as_ref(), now_ms) {
        Ok(verified) => verified.payload,
        Err(DenyReason::UnknownKey) => {
            let reason = other_event(db, scanned).await?;
            return Ok(deny(reason, claimed.as_ref().filter(|_| reason == DenyReason::WrongEvent)));
        }
        // Shown on the display only; a forged code's claims are not trusted for anything else.
        Err(reason) => return Ok(deny(reason, claimed.as_ref().filter(|_| reason_after_signature(reason)))),
    };
    // The key must be the ticket's own event's (as online): a key of another event at this
    // venue must not mint tickets for this one.
    let Some(session) = session.filter(|s| s.key_id == payload.key_id) else {
        return Ok(deny(DenyReason::UnknownKey, Some(&payload)));
    };
    let Ok(ticket_id) = i64::try_from(payload.ticket_id) else {
        return Ok(deny(DenyReason::UnknownTicket, Some(&payload)));
    };
    let (listed, local_admits) = db.ticket(ticket_id).await?;
    // The grade's policy (synced with the event); a ticket's own allowance wins when listed.
    let grade = db.grade_policy(session.event_id, &payload.grade).await?.unwrap_or(EntryPolicy::SINGLE);
    let accepted_here = db.last_counter(ticket_id).await?;
    let (mut ticket, base) = match listed {
        Some(t) if t.version < payload.ticket_version => {
            return Ok(deny(DenyReason::ListOutOfDate, Some(&payload)));
        }
        Some(t) => {
            let base = EntryState {
                entries_used: t.server_entries_used,
                inside: t.server_inside,
                per_session: SessionEntries::parse(&t.server_session_entries).unwrap_or_default(),
                last_counter: t.server_last_counter,
            };
            let ticket = TicketAtGate {
                status: TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Canceled),
                current_version: t.version,
                session_id: SessionId(t.session_id),
                event_id: EventId(session.event_id),
                state: EntryState::default(),
                policy: EntryPolicy { max_entries: t.max_entries, ..grade },
            };
            (ticket, base)
        }
        None => {
            let ticket = TicketAtGate {
                status: TicketStatus::Valid,
                current_version: payload.ticket_version,
                session_id: SessionId(session.id),
                event_id: EventId(session.event_id),
                state: EntryState::default(),
                policy: grade,
            };
            (ticket, EntryState::default())
        }
    };
    // This terminal's admits the server has not counted yet, replayed on its synced state.
    ticket.state = local_admits.iter().fold(base, |state, a| {
        state.after(&ticket.policy, SessionId(a.session_id.unwrap_or(ticket.session_id.0)), a.direction)
    });
    ticket.state.last_counter = DeviceCounter::newest(ticket.state.last_counter, accepted_here);
    let gate_session = gate_session.unwrap_or(session.id);
    let gate_event = match gate_session == session.id {
        true => Some(EventId(session.event_id)),
        false => db.session(gate_session).await?.map(|s| EventId(s.event_id)),
    };
    let scan = ScanContext {
        presented_version: payload.ticket_version,
        presented_session: SessionId(session.id),
        gate_session: SessionId(gate_session),
        gate_event,
        direction,
        valid_from_ms: payload.valid_from.saturating_mul(1000),
        valid_until_ms: payload.valid_until.saturating_mul(1000),
        now_ms,
        device_counter: scanned.counter(),
    };
    let after = match decide_entry(&ticket, &scan) {
        Ok(after) => after,
        Err(reason) => {
            let mut verdict = deny(reason, Some(&payload));
            verdict.entries_used = Some(ticket.entries_at(scan.gate_session));
            verdict.max_entries = Some(ticket.policy.max_entries);
            verdict.entry_policy = Some(ticket.policy.kind());
            return Ok(verdict);
        }
    };
    Ok(Verdict {
        deny: None,
        admits: u32::from(direction == Direction::Entry),
        entries_used: Some(after.entries_used),
        max_entries: Some(ticket.policy.max_entries),
        inside: ticket.policy.reentry.then_some(after.inside),
        entry_policy: Some(ticket.policy.kind()),
        ..deny(DenyReason::Malformed, Some(&payload))
    })
}

/// Why a credential signed with a key this terminal does not admit with is refused: genuinely
/// signed by one of the organiser's events at another venue → `wrong_event`; claiming such a
/// key but not signed by it → `bad_signature`; any other key → `unknown_key`.
async fn other_event(db: &LocalDb, scanned: &Scanned) -> Result<DenyReason, GateError> {
    let mut others = KeyRing::new();
    for (id, key) in db.other_event_keys().await? {
        let _ = others.insert(id, &key);
    }
    Ok(match others.verify(scanned.credential()) {
        Ok(_) => DenyReason::WrongEvent,
        Err(r) => rejection_reason(r),
    })
}

/// Whether the issuer's signature was good when `reason` was given, so the ticket it names
/// may be shown.
fn reason_after_signature(reason: DenyReason) -> bool {
    matches!(
        reason,
        DenyReason::DeviceProofMissing
            | DenyReason::BadDeviceSignature
            | DenyReason::StaleProof
            | DenyReason::StaticNotAccepted
    )
}

/// The synced verification keys as a ring (a key that is not a usable Ed25519 key is skipped).
pub async fn key_ring(db: &LocalDb) -> Result<KeyRing, GateError> {
    let mut ring = KeyRing::new();
    for (id, key) in db.keys().await? {
        if ring.insert(id, &key).is_err() {
            tracing::warn!(key.id = id, "skipping an unusable verification key");
        }
    }
    Ok(ring)
}
