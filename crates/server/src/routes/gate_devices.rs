//! Gate terminals, part one: enrolment and revocation (organiser's staff), and the sync feed a
//! terminal downloads to verify offline: the verification keys of the events at its venue,
//! their sessions with entry and credential policies, and the tickets' versions, statuses and
//! entry counts — paged, and incremental after the first sync (see `admit_store::TicketChanges`).

use super::CredentialPolicyDto;
use crate::auth::StaffUser;
use crate::device_auth::{DeviceUser, enrol_device};
use crate::dto::time;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::{AppState, now_ms};
use admit_domain::{CredentialPolicy, EventId, GateId, TicketId};
use admit_store::{GateDevice, GateDeviceId, TicketChangesQuery};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Sessions that ended longer ago than this are not synced.
const ENDED_GRACE_MS: i64 = 24 * 3_600_000;
/// Tickets per sync page unless the terminal asks for another size.
const DEFAULT_PAGE: u32 = 5_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolInput {
    /// The gate this terminal stands at (one of the organiser's venues' gates).
    pub gate_id: i64,
    /// A label for staff, e.g. "North 2 handheld" (default "Gate N terminal").
    pub name: Option<String>,
}

/// `Debug` leaves the token out (see below), so logging the answer never leaks it.
#[derive(Serialize, ToSchema)]
pub struct GateDeviceDto {
    pub device_id: i64,
    pub gate_id: i64,
    pub venue_id: i64,
    pub name: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Only in the enrolment answer: the terminal's bearer token, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

impl std::fmt::Debug for GateDeviceDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateDeviceDto")
            .field("device_id", &self.device_id)
            .field("gate_id", &self.gate_id)
            .field("venue_id", &self.venue_id)
            .field("name", &self.name)
            .field("enrolled_at", &self.enrolled_at)
            .field("revoked_at", &self.revoked_at)
            .field("device_token", &self.device_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl GateDeviceDto {
    fn new(d: &GateDevice, token: Option<String>) -> GateDeviceDto {
        GateDeviceDto {
            device_id: d.id.0,
            gate_id: d.gate.id.0,
            venue_id: d.gate.venue_id.0,
            name: d.name.clone(),
            enrolled_at: time(d.created_at_ms),
            revoked_at: d.revoked_at_ms.map(time),
            device_token: token,
        }
    }
}

#[utoipa::path(post, path = "/gate/devices", tag = "gate terminals", request_body = EnrolInput,
    security(("staff_token" = [])),
    responses(
        (status = 201, description = "Enrolled; `device_token` is shown this once", body = GateDeviceDto),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's gate", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such gate", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The name is empty or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiJson(input): ApiJson<EnrolInput>,
) -> Result<Response, ApiError> {
    let gate = GateId(input.gate_id);
    staff.require_organiser(state.places.gate(state.store.as_ref(), gate).await?.organiser_id)?;
    let name =
        input.name.as_deref().map(str::trim).map(str::to_owned).unwrap_or_else(|| format!("Gate {gate} terminal"));
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation("The device name must be 1 to 100 characters."));
    }
    let (device, token) = enrol_device(state.store.as_ref(), gate, &name, now_ms()).await?;
    tracing::info!(gate.device = %device.id, gate.id = %gate, "gate device enrolled");
    let location = format!("/gate/devices/{}", device.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(GateDeviceDto::new(&device, Some(token))))
        .into_response())
}

#[utoipa::path(delete, path = "/gate/devices/{device_id}", tag = "gate terminals",
    params(("device_id" = i64, Path)),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "Revoked (revoking again keeps the first time)", body = GateDeviceDto),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's device", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such device", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<GateDeviceDto>, ApiError> {
    let id = GateDeviceId(id);
    staff.require_organiser(state.store.gate_device(id).await?.gate.organiser_id)?;
    let device = state.store.revoke_gate_device(id, now_ms()).await?;
    tracing::info!(gate.device = %id, "gate device revoked");
    Ok(Json(GateDeviceDto::new(&device, None)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SyncQuery {
    /// The `cursor` of the last complete sync: only tickets changed since are sent. Leave out
    /// for everything.
    pub since: Option<String>,
    /// The `next_page` of the previous answer, to continue this sync.
    pub page: Option<String>,
    /// Tickets per page (1 to 10,000; default 5,000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationKeyDto {
    pub key_id: u32,
    /// Ed25519 public key, 32 bytes in hex.
    pub public_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GradePolicyDto {
    pub code: String,
    /// Entries one ticket of the grade allows (a multi-day pass: per session).
    pub max_entries: u32,
    /// Re-entry with pass-out: one person inside at a time, an exit scan allows the next entry.
    pub reentry: bool,
    /// A pass valid at every session of the event, `max_entries` per session.
    pub multi_day: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncSessionDto {
    pub id: i64,
    pub event_id: i64,
    pub event_name: String,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub doors_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The event's verification key: the session's tickets must be signed with it.
    pub key_id: u32,
    /// The event's entry policy per grade.
    pub grades: Vec<GradePolicyDto>,
    pub credential_policy: CredentialPolicyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketStateDto {
    /// Decimal string (63-bit).
    pub id: String,
    pub session_id: i64,
    /// The current version: every other version is revoked.
    pub version: u32,
    /// valid or canceled
    pub status: String,
    /// Entries taken (a multi-day pass: at the session it was scanned at last).
    pub entries_used: u32,
    pub max_entries: u32,
    /// A re-entry ticket's holder is inside (entered, not passed out).
    pub inside: bool,
    /// A multi-day pass's entries per session: `session:count,…` (empty otherwise).
    pub session_entries: String,
    /// The last phone presentation (`ADP1:`) accepted for the ticket, if any: a terminal
    /// refuses one not newer (`replayed`).
    pub last_presentation: Option<PresentationCounterDto>,
}

/// A phone presentation's counter and the ticket version it was signed for.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresentationCounterDto {
    pub version: u32,
    /// The phone's clock in unix seconds when it signed.
    pub counter: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncDto {
    pub device_id: i64,
    pub gate_id: i64,
    pub venue_id: i64,
    pub server_time: DateTime<Utc>,
    pub keys: Vec<VerificationKeyDto>,
    /// The keys of the organiser's events at other venues: a genuine ticket signed with one is
    /// for another event (`wrong_event`), which the terminal can then tell from a forgery.
    /// Never used to admit.
    pub other_event_keys: Vec<VerificationKeyDto>,
    pub sessions: Vec<SyncSessionDto>,
    /// Tickets changed since `since`, in id order, one page of them.
    pub tickets: Vec<TicketStateDto>,
    /// First page only: how many tickets the whole sync sends.
    pub total_tickets: Option<u64>,
    /// Ask again with `page=<this>` (same `since`) for the rest; absent on the last page.
    pub next_page: Option<String>,
    /// Pass as `since` next time, once every page was read.
    pub cursor: String,
}

fn parse_u64(what: &str, s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| ApiError::validation(format!("`{what}` must be a cursor this server gave out, not '{s}'.")))
}

/// `watermark.after_id`: where a paged sync continues.
fn parse_page(page: &str) -> Result<(u64, TicketId), ApiError> {
    let (w, after) = page.split_once('.').ok_or_else(|| ApiError::validation("`page` is not a page token."))?;
    let after = after.parse().map_err(|_| ApiError::validation("`page` is not a page token."))?;
    Ok((parse_u64("page", w)?, TicketId(after)))
}

#[utoipa::path(get, path = "/gate/sync", tag = "gate terminals", params(SyncQuery),
    security(("device_token" = [])),
    responses(
        (status = 200, description = "Keys, sessions and one page of ticket changes", body = SyncDto),
        (status = 401, description = "No, unknown or revoked device token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A cursor or page token this server did not give out", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sync(
    State(state): State<AppState>,
    DeviceUser(device): DeviceUser,
    ApiQuery(q): ApiQuery<SyncQuery>,
) -> Result<Json<SyncDto>, ApiError> {
    let since = q.since.as_deref().map(|s| parse_u64("since", s)).transpose()?.unwrap_or(0);
    let page = q.page.as_deref().map(parse_page).transpose()?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::validation("`limit` must be between 1 and 10000."));
    }
    let now = now_ms();
    let sessions = state.store.venue_sessions(device.gate.venue_id, now - ENDED_GRACE_MS).await?;
    let mut events = BTreeMap::new();
    for s in &sessions {
        if let std::collections::btree_map::Entry::Vacant(slot) = events.entry(s.event_id) {
            slot.insert(event_view(&state, s.event_id).await?);
        }
    }
    let mut other_event_keys = Vec::new();
    for e in state.store.list_events().await? {
        if e.organiser_id == device.gate.organiser_id && !events.contains_key(&e.id) {
            let signer = state.signer(e.id).await?;
            let public_key = hex::encode(signer.issuer.public_key());
            other_event_keys.push(VerificationKeyDto { key_id: signer.issuer.key_id(), public_key });
        }
    }
    let changes = state
        .store
        .ticket_changes(TicketChangesQuery {
            sessions: sessions.iter().map(|s| s.id).collect(),
            since,
            after: page.map(|(_, after)| after),
            limit,
        })
        .await?;
    let watermark = page.map_or(changes.watermark, |(w, _)| w);
    let next_page = changes.tickets.last().filter(|_| changes.more).map(|last| format!("{watermark}.{}", last.id));
    Ok(Json(SyncDto {
        device_id: device.id.0,
        gate_id: device.gate.id.0,
        venue_id: device.gate.venue_id.0,
        server_time: time(now),
        keys: events
            .values()
            .map(|e| VerificationKeyDto { key_id: e.key_id, public_key: hex::encode(e.public_key) })
            .collect(),
        other_event_keys,
        sessions: sessions
            .iter()
            .map(|s| {
                let e = &events[&s.event_id];
                SyncSessionDto {
                    id: s.id.0,
                    event_id: s.event_id.0,
                    event_name: e.name.clone(),
                    name: s.label.clone(),
                    starts_at: time(s.starts_at_ms),
                    doors_at: time(s.doors_at_ms),
                    ends_at: time(s.ends_at_ms),
                    key_id: e.key_id,
                    grades: e
                        .grades
                        .iter()
                        .map(|(code, p)| GradePolicyDto {
                            code: code.clone(),
                            max_entries: p.max_entries,
                            reentry: p.reentry,
                            multi_day: p.multi_day,
                        })
                        .collect(),
                    credential_policy: e.policy.into(),
                }
            })
            .collect(),
        tickets: changes
            .tickets
            .iter()
            .map(|t| TicketStateDto {
                id: t.id.0.to_string(),
                session_id: t.session_id.0,
                version: t.version,
                status: t.status.as_str().to_owned(),
                entries_used: t.entries_used,
                max_entries: t.max_entries,
                inside: t.inside,
                session_entries: t.session_entries.to_text(),
                last_presentation: t
                    .last_counter
                    .map(|c| PresentationCounterDto { version: c.version, counter: c.counter }),
            })
            .collect(),
        total_tickets: changes.total,
        next_page,
        cursor: watermark.to_string(),
    }))
}

/// What the sync says about one event.
struct EventView {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
    grades: Vec<(String, admit_domain::EntryPolicy)>,
    policy: CredentialPolicy,
}

async fn event_view(state: &AppState, event: EventId) -> Result<EventView, ApiError> {
    let detail = state.store.event(event).await?;
    let signer = state.signer(event).await?;
    Ok(EventView {
        name: detail.event.name,
        key_id: signer.issuer.key_id(),
        public_key: signer.issuer.public_key(),
        grades: detail.grades.iter().map(|g| (g.code.clone(), g.policy)).collect(),
        policy: state.places.credential_policy(state.store.as_ref(), event).await?,
    })
}
