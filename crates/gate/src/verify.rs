//! The offline decision: everything the online check decides, from the local file alone.
//!
//! In order: the code is read and its signature checked over the exact bytes with the synced
//! keys (a device-bound credential needs a fresh device proof, within the event's window);
//! the key must be the one of the ticket's own event; the ticket must be for a session of this
//! venue (the one the gate admits for, when it is fixed); then `admit_domain::decide_entry`,
//! the same function the server runs, on the synced version/revocation list with the entries
//! counted so far (the server's count at the last sync plus this terminal's own admits since).
//!
//! A genuine credential of a ticket the list does not hold yet was issued after the last sync:
//! it is checked like a listed ticket whose entries are only those in this terminal's log, with
//! its grade's entry allowance; the upload reconciles it.

use crate::local::LocalDb;
use crate::model::{LocalSession, Verdict};
use crate::GateError;
use admit_credential::{Credential, KeyRing, Payload, Rejection, ticket_reference};
use admit_domain::{DenyReason, EntryPolicy, ScanContext, SessionId, TicketAtGate, TicketStatus, decide_entry};

/// What the code says, once it is known to be genuine.
struct Genuine {
    payload: Payload,
}

fn rejection_reason(r: Rejection) -> DenyReason {
    match r {
        Rejection::Malformed => DenyReason::Malformed,
        Rejection::UnsupportedVersion => DenyReason::UnsupportedVersion,
        Rejection::UnknownKey => DenyReason::UnknownKey,
        Rejection::BadSignature => DenyReason::BadSignature,
    }
}

/// Reads the code and checks its signatures: the issuer's over the exact bytes, and for a
/// device-bound credential the device's proof, fresh within `session`'s window.
fn check_code(ring: &KeyRing, code: &str, _session: Option<&LocalSession>, _now_ms: i64) -> Result<Genuine, (DenyReason, Option<Payload>)> {
    let credential = Credential::from_text(code).map_err(|r| (rejection_reason(r), None))?;
    let payload = ring.verify(&credential).map_err(|r| (rejection_reason(r), None))?;
    if payload.holder.requires_device_proof() {
        return Err((DenyReason::DeviceProofMissing, Some(payload)));
    }
    Ok(Genuine { payload })
}

/// The session a code claims, read before its signature is checked: only to pick the event's
/// key and proof window, never to decide.
fn claimed_session(code: &str) -> Option<i64> {
    let payload = Credential::from_text(code).ok()?.payload_unverified().ok()?;
    i64::try_from(payload.session_id).ok()
}

fn deny(reason: DenyReason, payload: Option<&Payload>) -> Verdict {
    Verdict {
        deny: Some(reason),
        reference: payload.map(|p| ticket_reference(p.ticket_id)),
        seat: payload.and_then(|p| (!p.seat.is_empty()).then(|| p.seat.clone())),
        grade: payload.map(|p| p.grade.clone()),
        admits: 0,
        entries_used: None,
        max_entries: None,
        session_id: payload.and_then(|p| i64::try_from(p.session_id).ok()),
        ticket_id: payload.and_then(|p| i64::try_from(p.ticket_id).ok()),
        ticket_version: payload.map(|p| p.ticket_version),
        online: false,
    }
}

/// Decides a scanned code with what the local file holds. `gate_session` fixes the session the
/// gate admits for; without it, any session of this venue the ticket is for.
pub async fn decide_offline(
    db: &LocalDb,
    ring: &KeyRing,
    code: &str,
    gate_session: Option<i64>,
    now_ms: i64,
) -> Result<Verdict, GateError> {
    let session = match claimed_session(code) {
        Some(id) => db.session(id).await?,
        None => None,
    };
    let payload = match check_code(ring, code, session.as_ref(), now_ms) {
        Ok(g) => g.payload,
        Err((reason, payload)) => return Ok(deny(reason, payload.as_ref())),
    };
    // The key must be the ticket's own event's (as online): a key of another event at this
    // venue must not mint tickets for this one.
    let Some(session) = session.filter(|s| s.key_id == payload.key_id) else {
        return Ok(deny(DenyReason::UnknownKey, Some(&payload)));
    };
    let Ok(ticket_id) = i64::try_from(payload.ticket_id) else {
        return Ok(deny(DenyReason::UnknownTicket, Some(&payload)));
    };
    let (listed, local_entries) = db.ticket(ticket_id).await?;
    let ticket = match listed {
        Some(t) => TicketAtGate {
            status: TicketStatus::parse(&t.status).unwrap_or(TicketStatus::Canceled),
            current_version: t.version,
            session_id: SessionId(t.session_id),
            entries_used: t.server_entries_used + local_entries,
            policy: EntryPolicy { max_entries: t.max_entries },
        },
        None => TicketAtGate {
            status: TicketStatus::Valid,
            current_version: payload.ticket_version,
            session_id: SessionId(session.id),
            entries_used: local_entries,
            policy: EntryPolicy {
                max_entries: db.grade_max_entries(session.event_id, &payload.grade).await?.unwrap_or(1),
            },
        },
    };
    let scan = ScanContext {
        presented_version: payload.ticket_version,
        presented_session: SessionId(session.id),
        gate_session: SessionId(gate_session.unwrap_or(session.id)),
        valid_from_ms: payload.valid_from.saturating_mul(1000),
        valid_until_ms: payload.valid_until.saturating_mul(1000),
        now_ms,
    };
    if let Err(reason) = decide_entry(&ticket, &scan) {
        let mut verdict = deny(reason, Some(&payload));
        verdict.entries_used = Some(ticket.entries_used);
        verdict.max_entries = Some(ticket.policy.max_entries);
        return Ok(verdict);
    }
    Ok(Verdict {
        deny: None,
        admits: 1,
        entries_used: Some(ticket.entries_used + 1),
        max_entries: Some(ticket.policy.max_entries),
        ..deny(DenyReason::Malformed, Some(&payload))
    })
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
