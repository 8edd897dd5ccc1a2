//! Gate terminals, part two: uploading the scans a terminal took offline, and what
//! reconciliation made of them — conflicts (an offline admit the server could not count, with
//! both sides) and entries per gate over time, for the organiser's staff.

use crate::auth::StaffUser;
use crate::device_auth::DeviceUser;
use crate::dto::time;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::{AppState, now_ms};
use admit_domain::{DenyReason, Direction, GateId, SessionId, TicketId};
use admit_store::{AdmittingScan, Conflict, GateVerdict, UploadOutcome, UploadResult, UploadedScan};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// At most 1,000 scans, each once per device sequence number.
    pub scans: Vec<UploadScanInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadScanInput {
    /// The terminal's own sequence number for the scan: an upload is idempotent per number.
    pub seq: i64,
    /// Decimal string; absent when the code was not readable as a ticket.
    pub ticket_id: Option<String>,
    pub ticket_version: Option<u32>,
    /// The session the gate admitted for; may be absent only on a deny of a code naming none.
    pub session_id: Option<i64>,
    pub gate_id: i64,
    /// admit or deny
    pub verdict: String,
    /// The deny reason code (deny only).
    pub reason: Option<String>,
    pub scanned_at: DateTime<Utc>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// entry (default) or exit (a pass-out at an exit lane).
    #[serde(default)]
    pub direction: Option<String>,
    /// The counter of the phone's presentation (`ADP1:`) scanned, absent for a static code: an
    /// admit whose counter is not newer than the last one accepted for the ticket is a
    /// `replayed` conflict.
    #[serde(default)]
    pub device_counter: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResultDto {
    pub seq: i64,
    /// counted (an admit that took an entry), conflict (an admit the server could not count),
    /// recorded (a denial, logged)
    pub outcome: String,
    /// Why a conflict: already_used, revoked_version, canceled, wrong_session, unknown_ticket,
    /// already_inside / not_inside (a pass-out entry or exit that does not fit the ticket's
    /// state: e.g. an exit uploaded before the entry it follows), replayed (a phone code
    /// already used, at another gate or online).
    pub reason: Option<String>,
    pub entries_used: Option<u32>,
    pub max_entries: Option<u32>,
}

impl From<&UploadResult> for UploadResultDto {
    fn from(r: &UploadResult) -> Self {
        UploadResultDto {
            seq: r.seq,
            outcome: r.outcome.as_str().to_owned(),
            reason: match r.outcome {
                UploadOutcome::Conflict(reason) => Some(reason.code().to_owned()),
                _ => None,
            },
            entries_used: r.entries_used,
            max_entries: r.max_entries,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAnswerDto {
    /// One per uploaded scan, in the order sent.
    pub results: Vec<UploadResultDto>,
}

/// The typed scan, or a readable reason why it is not acceptable from this terminal.
async fn scan_of(
    state: &AppState,
    device: &admit_store::GateDevice,
    s: UploadScanInput,
) -> Result<UploadedScan, ApiError> {
    let bad = |detail: String| ApiError::validation(format!("Scan {}: {detail}", s.seq));
    if s.gate_id != device.gate.id.0 {
        return Err(bad(format!("this device is enrolled at gate {}, not gate {}.", device.gate.id, s.gate_id)));
    }
    let direction = match s.direction.as_deref() {
        None => Direction::Entry,
        Some(d) => Direction::parse(d).ok_or_else(|| bad(format!("direction must be entry or exit, not '{d}'.")))?,
    };
    let mut event_id = None;
    if let Some(id) = s.session_id {
        let session = state.places.session(state.store.as_ref(), SessionId(id)).await.map_err(|e| match e {
            admit_store::StoreError::NotFound(_) => bad(format!("there is no session {id}.")),
            other => other.into(),
        })?;
        if session.place.venue_id != device.gate.venue_id {
            return Err(bad(format!("session {id} is not at this device's venue.")));
        }
        event_id = Some(session.event_id);
    }
    let verdict = match (s.verdict.as_str(), s.reason.as_deref()) {
        ("admit", None) => GateVerdict::Admit,
        ("deny", Some(code)) => {
            GateVerdict::Deny(DenyReason::parse(code).ok_or_else(|| bad(format!("unknown reason '{code}'.")))?)
        }
        ("admit", Some(_)) => return Err(bad("an admit has no reason.".into())),
        ("deny", None) => return Err(bad("a deny needs its reason.".into())),
        (other, _) => return Err(bad(format!("verdict must be admit or deny, not '{other}'."))),
    };
    let ticket_id = s
        .ticket_id
        .as_deref()
        .map(|t| t.parse::<i64>().map(TicketId).map_err(|_| bad(format!("ticket_id '{t}' is not a ticket id."))))
        .transpose()?;
    let position_ok = s.latitude.is_none_or(|l| (-90.0..=90.0).contains(&l))
        && s.longitude.is_none_or(|l| (-180.0..=180.0).contains(&l));
    if !position_ok {
        return Err(bad("latitude must be within ±90 and longitude within ±180.".into()));
    }
    Ok(UploadedScan {
        seq: s.seq,
        ticket_id,
        ticket_version: s.ticket_version,
        session_id: s.session_id.map(SessionId),
        event_id,
        direction,
        gate_id: GateId(s.gate_id),
        verdict,
        scanned_at_ms: s.scanned_at.timestamp_millis(),
        latitude: s.latitude,
        longitude: s.longitude,
        device_counter: s.device_counter,
    })
}

#[utoipa::path(post, path = "/gate/devices/{device_id}/scans", tag = "gate terminals", request_body = UploadInput,
    params(("device_id" = i64, Path)),
    security(("device_token" = [])),
    responses(
        (status = 200, description = "What reconciliation made of each scan (the same on a repeat)", body = UploadAnswerDto),
        (status = 401, description = "No, unknown or revoked device token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token belongs to another device", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A scan is not acceptable; nothing was recorded", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    DeviceUser(device): DeviceUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<UploadInput>,
) -> Result<Json<UploadAnswerDto>, ApiError> {
    if id != device.id.0 {
        return Err(ApiError::forbidden("A device uploads only its own scans."));
    }
    let mut scans = Vec::with_capacity(input.scans.len());
    for s in input.scans {
        scans.push(scan_of(&state, &device, s).await?);
    }
    let results = state.store.upload_gate_scans(device.id, scans, now_ms()).await?;
    let conflicts = results.iter().filter(|r| matches!(r.outcome, UploadOutcome::Conflict(_))).count();
    if conflicts > 0 {
        tracing::warn!(gate.device = %device.id, conflicts, "uploaded admits in conflict");
    }
    Ok(Json(UploadAnswerDto { results: results.iter().map(UploadResultDto::from).collect() }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdmittingScanDto {
    pub gate_id: i64,
    /// online (decided by the server) or offline (uploaded by a terminal)
    pub source: String,
    pub device_id: Option<i64>,
    pub device_name: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<&AdmittingScan> for AdmittingScanDto {
    fn from(s: &AdmittingScan) -> Self {
        AdmittingScanDto {
            gate_id: s.gate_id.0,
            source: if s.device_id.is_some() { "offline" } else { "online" }.into(),
            device_id: s.device_id.map(|d| d.0),
            device_name: s.device_name.clone(),
            at: time(s.at_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictDto {
    pub ticket_id: Option<String>,
    pub reference: Option<String>,
    /// What the online check would have said: already_used, revoked_version, canceled, …
    pub reason: String,
    /// The offline admit the server could not count.
    pub uploaded: AdmittingScanDto,
    pub device_seq: i64,
    pub received_at: DateTime<Utc>,
    /// The admits that took the ticket's entries, oldest first.
    pub counted: Vec<AdmittingScanDto>,
}

impl From<&Conflict> for ConflictDto {
    fn from(c: &Conflict) -> Self {
        ConflictDto {
            ticket_id: c.ticket_id.map(|t| t.0.to_string()),
            reference: c.reference.clone(),
            reason: c.reason.code().to_owned(),
            uploaded: AdmittingScanDto::from(&c.uploaded),
            device_seq: c.device_seq,
            received_at: time(c.received_at_ms),
            counted: c.counted.iter().map(AdmittingScanDto::from).collect(),
        }
    }
}

async fn require_session_owner(state: &AppState, staff: &StaffUser, session: SessionId) -> Result<(), ApiError> {
    staff.require_organiser(state.places.session(state.store.as_ref(), session).await?.place.organiser_id)
}

#[utoipa::path(get, path = "/sessions/{session_id}/conflicts", tag = "gate terminals",
    params(("session_id" = i64, Path)),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "Offline admits that could not be counted, with both sides", body = [ConflictDto]),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn conflicts(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ConflictDto>>, ApiError> {
    require_session_owner(&state, &staff, SessionId(id)).await?;
    Ok(Json(state.store.conflicts(SessionId(id)).await?.iter().map(ConflictDto::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EntriesQuery {
    /// minute (default) or hour
    pub bucket: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryCountDto {
    pub start: DateTime<Utc>,
    pub gate_id: i64,
    /// Admitted by the online check.
    pub online: u64,
    /// Admitted offline and counted at upload.
    pub offline: u64,
    /// Admitted offline but in conflict (see `/sessions/{id}/conflicts`).
    pub conflicts: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntriesDto {
    pub session_id: i64,
    pub bucket: String,
    pub rows: Vec<EntryCountDto>,
}

#[utoipa::path(get, path = "/sessions/{session_id}/entries", tag = "gate terminals",
    params(("session_id" = i64, Path), EntriesQuery),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "Entries per gate per minute or hour, online and uploaded", body = EntriesDto),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown bucket", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn entries(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> Result<Json<EntriesDto>, ApiError> {
    let (bucket, bucket_ms) = match q.bucket.as_deref().unwrap_or("minute") {
        "minute" => ("minute", 60_000),
        "hour" => ("hour", 3_600_000),
        other => return Err(ApiError::validation(format!("bucket must be minute or hour, not '{other}'."))),
    };
    require_session_owner(&state, &staff, SessionId(id)).await?;
    let rows = state.store.entries(SessionId(id), bucket_ms).await?;
    Ok(Json(EntriesDto {
        session_id: id,
        bucket: bucket.into(),
        rows: rows
            .iter()
            .map(|r| EntryCountDto {
                start: time(r.bucket_start_ms),
                gate_id: r.gate_id.0,
                online: r.online,
                offline: r.uploaded,
                conflicts: r.conflicts,
            })
            .collect(),
    }))
}
