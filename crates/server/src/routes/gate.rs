//! Staff at the venue: the gate manifest (JSON or CSV) and the online check.
//!
//! The check is the hottest path at doors-open, so everything but the entry itself comes from
//! memory: the staff token (briefly cached), where the gate and session belong (immutable, cached),
//! the event's credential policy (re-read every few seconds) and the shared verification key
//! ring. What is left per scan is the signature checks (the issuer's, plus the phone's for a
//! device-bound presentation) and the store's atomic `check_in` (or the log of a denial).
//!
//! Both code forms are accepted: a static credential (`ADM1:`), refused with
//! `static_not_accepted` when the organiser turned static codes off, and a phone's dynamic
//! presentation (`ADP1:`), whose device proof must be within the event's proof window of the
//! server's clock, and which admits (entry or exit) once: the store refuses a presentation
//! whose counter is not newer than the last one it accepted for the ticket (`replayed`).

use crate::auth::StaffUser;
use crate::device_auth::ScanCaller;
use crate::dto::{ManifestRowDto, ScanInput, ScanVerdict, ScannedTicket, time};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::{AppState, now_ms};
use admit_credential::{Payload, ProofPolicy, Rejection, Scanned, Verified, ticket_reference};
use admit_domain::{CredentialPolicy, DenyReason, Direction, GateId, SessionId, TicketId};
use admit_store::{DeniedScan, ScanRequest, StoreError};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ManifestQuery {
    /// json (default) or csv; `Accept: text/csv` also selects CSV.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/sessions/{session_id}/manifest", tag = "gate",
    params(("session_id" = i64, Path), ManifestQuery),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "Every ticket of the session with its inspection ID and password, as JSON or (`format=csv` or `Accept: text/csv`) as CSV",
            content(([ManifestRowDto] = "application/json"), (String = "text/csv"))),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `format` other than json or csv", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn manifest(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ManifestQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = SessionId(id);
    staff.require_organiser(state.places.session(state.store.as_ref(), session).await?.place.organiser_id)?;
    let rows: Vec<ManifestRowDto> = state.store.manifest(session).await?.iter().map(ManifestRowDto::from).collect();
    let wants_csv = match q.format.as_deref() {
        Some("csv") => true,
        Some("json") | None => {
            headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"))
        }
        Some(other) => return Err(ApiError::validation(format!("format must be json or csv, not '{other}'."))),
    };
    if !wants_csv {
        return Ok(Json(rows).into_response());
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let header_row = [
        "reference",
        "inspection_id",
        "inspection_password",
        "seat",
        "grade",
        "status",
        "version",
        "entries_used",
        "max_entries",
    ];
    let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<(), csv::Error> {
        w.write_record(header_row)?;
        for r in &rows {
            w.write_record([
                r.reference.as_str(),
                &r.inspection_id,
                &r.inspection_password,
                r.seat.as_deref().unwrap_or(""),
                &r.grade,
                &r.status,
                &r.version.to_string(),
                &r.entries_used.to_string(),
                &r.max_entries.to_string(),
            ])?;
        }
        w.flush()?;
        Ok(())
    };
    write(&mut w).map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = w.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?;
    let disposition = format!("attachment; filename=\"manifest-session-{id}.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

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

fn deny(reason: DenyReason, payload: Option<&Payload>, gate: GateId, direction: Direction, now: i64) -> ScanVerdict {
    ScanVerdict {
        verdict: "deny".into(),
        reason: Some(reason.code().into()),
        direction: direction.as_str().into(),
        entry_policy: None,
        inside: None,
        message: reason.to_string(),
        ticket: payload.map(|p| ScannedTicket {
            reference: ticket_reference(p.ticket_id),
            seat: (!p.seat.is_empty()).then(|| p.seat.clone()),
            grade: p.grade.clone(),
        }),
        admits: 0,
        entries_used: None,
        max_entries: None,
        gate_id: gate.0,
        scanned_at: time(now),
    }
}

#[utoipa::path(post, path = "/gate/scans", tag = "gate", request_body = ScanInput,
    security(("staff_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "A gate retrying after a network error gets the same verdict")),
    responses(
        (status = 200, description = "Admit or deny with a reason code", body = ScanVerdict),
        (status = 401, description = "No or unknown staff or gate device token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's gate, or a device enrolled at another gate", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such gate or session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The gate is not at this session's venue", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn scan(
    State(state): State<AppState>,
    caller: ScanCaller,
    ApiJson(input): ApiJson<ScanInput>,
) -> Result<Json<ScanVerdict>, ApiError> {
    let (gate_id, session_id) = (GateId(input.gate_id), SessionId(input.session_id));
    let direction = match input.direction.as_deref() {
        None => Direction::Entry,
        Some(d) => Direction::parse(d)
            .ok_or_else(|| ApiError::validation(format!("direction must be entry or exit, not '{d}'.")))?,
    };
    let gate = state.places.gate(state.store.as_ref(), gate_id).await?;
    caller.require_gate(gate_id, gate)?;
    let session = state.places.session(state.store.as_ref(), session_id).await?;
    if session.place.venue_id != gate.venue_id {
        return Err(ApiError::validation(format!("Gate {gate_id} is not at the venue of session {session_id}.")));
    }
    let now = now_ms();
    let denied = |reason: DenyReason, payload: Option<&Payload>| {
        let scan = DeniedScan {
            ticket_id: payload.map(|p| TicketId(p.ticket_id as i64)),
            gate_id,
            session_id,
            reason,
            now_ms: now,
        };
        (scan, deny(reason, payload, gate_id, direction, now))
    };
    // The policy of the event being admitted for (a ticket of another session is denied below).
    let policy = state.places.credential_policy(state.store.as_ref(), session.event_id).await?;
    let verified = verify(&state, &policy, &input.credential, now).await?;
    let device_counter = verified.as_ref().ok().and_then(|(_, counter)| *counter);
    let payload = match verified {
        Ok((v, _)) if v.payload.ticket_id > i64::MAX as u64 => Err((DenyReason::UnknownTicket, Some(v.payload))),
        Ok((v, _)) => Ok(v),
        Err(denial) => Err(denial),
    };
    // A valid signature is not enough: the key must be the one of the ticket's own event, or
    // one organiser's key (or a leaked one) could mint credentials for another's tickets.
    let payload = match payload {
        Ok(v) if !signed_by_its_event(&state, &v.payload).await? => Err((DenyReason::UnknownKey, Some(v.payload))),
        Ok(v) if !v.device_proof && !policy.static_accepted => Err((DenyReason::StaticNotAccepted, Some(v.payload))),
        Ok(v) => Ok(v.payload),
        Err(denial) => Err(denial),
    };
    let payload = match payload {
        Ok(p) => p,
        Err((reason, p)) => {
            let (log, verdict) = denied(reason, p.as_ref());
            state.store.log_denied_scan(log).await?;
            return Ok(Json(verdict));
        }
    };
    let request = ScanRequest {
        ticket_id: TicketId(payload.ticket_id as i64),
        presented_version: payload.ticket_version,
        presented_session: SessionId(payload.session_id as i64),
        gate_id,
        gate_session: session_id,
        gate_event: Some(session.event_id),
        direction,
        valid_from_ms: payload.valid_from.saturating_mul(1000),
        valid_until_ms: payload.valid_until.saturating_mul(1000),
        now_ms: now,
        device_counter,
    };
    match state.store.check_in(request).await {
        Ok(a) => Ok(Json(ScanVerdict {
            verdict: "admit".into(),
            reason: None,
            message: match direction {
                Direction::Entry => "Welcome".into(),
                Direction::Exit => "Pass-out: come back with the same ticket".into(),
            },
            direction: direction.as_str().into(),
            entry_policy: Some(a.policy.kind().into()),
            inside: a.policy.reentry.then_some(a.after.inside),
            ticket: Some(ScannedTicket { reference: a.reference, seat: a.seat_label, grade: a.grade_code }),
            admits: u32::from(direction == Direction::Entry),
            entries_used: Some(a.entries_used),
            max_entries: Some(a.max_entries),
            gate_id: gate_id.0,
            scanned_at: time(now),
        })),
        Err(StoreError::Denied(reason)) => Ok(Json(deny(reason, Some(&payload), gate_id, direction, now))),
        Err(e) => Err(e.into()),
    }
}

type Denial = (DenyReason, Option<Payload>);

/// Reads the scanned code and checks its signatures with the shared key ring (reloaded only
/// for a key ID it does not hold), applying the event's proof window at the server's clock;
/// with a presentation's counter, which the store's check-in refuses unless newer.
/// A denial for the device proof (missing, wrong phone, stale) comes after the issuer's
/// signature was found good, so it carries the ticket's payload for the log and the display.
async fn verify(
    state: &AppState,
    policy: &CredentialPolicy,
    text: &str,
    now_ms: i64,
) -> Result<Result<(Verified, Option<u32>), Denial>, ApiError> {
    let scanned = match Scanned::parse(text) {
        Ok(scanned) => scanned,
        Err(r) => return Ok(Err((rejection_reason(r), None))),
    };
    let proof = ProofPolicy::symmetric(policy.proof_window_seconds);
    let now_s = now_ms.div_euclid(1000);
    let outcome = match state.keyring().verify_scanned(&scanned, now_s, &proof) {
        // Only a key ID missing from the ring may send us to the store (rate-limited there).
        Err(Rejection::UnknownKey) => match scanned.credential().payload_unverified() {
            Ok(claimed) => state.keyring_with(claimed.key_id).await?.verify_scanned(&scanned, now_s, &proof),
            Err(r) => Err(r),
        },
        other => other,
    };
    Ok(outcome.map(|v| (v, scanned.counter())).map_err(|r| {
        let genuine =
            matches!(r, Rejection::DeviceProofMissing | Rejection::BadDeviceSignature | Rejection::StaleProof);
        (rejection_reason(r), genuine.then(|| scanned.credential().payload_unverified().ok()).flatten())
    }))
}

/// Whether the credential's key is its session's event key (an unknown session: no).
async fn signed_by_its_event(state: &AppState, payload: &Payload) -> Result<bool, ApiError> {
    let Ok(session) = i64::try_from(payload.session_id) else { return Ok(false) };
    match state.places.session(state.store.as_ref(), SessionId(session)).await {
        Ok(place) => Ok(state.signer(place.event_id).await?.issuer.key_id() == payload.key_id),
        Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
