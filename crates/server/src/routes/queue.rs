//! The on-sale waiting room: organisers switch it on per event; buyers join the queue, watch
//! their place, and receive the admission pass that `POST /holds` then requires.
//!
//! A buyer's place is bound to a cookie (`admit_queue_<event id>`), so refreshing the page or
//! opening more tabs finds the same place instead of a new one.

use crate::admission::{self, AdmissionPass};
use crate::auth::StaffUser;
use crate::dto::time;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::ratelimit::ClientAddr;
use crate::state::{AppState, now_ms};
use admit_domain::EventId;
use admit_domain::waiting_room::Standing;
use admit_store::{QueueEntry, QueueJoin, StaffRole, StoreError, WaitingRoom, WaitingRoomConfig};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// How an organiser configures the waiting room.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitingRoomInput {
    /// When the sale opens. Buyers who arrive earlier are put in a random order at this moment.
    pub opens_at: DateTime<Utc>,
    /// Buyers let through per minute.
    pub admit_per_minute: u32,
    /// How long an admission lasts, in seconds (60 to 86,400).
    pub pass_ttl_secs: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitingRoomDto {
    pub event_id: i64,
    pub opens_at: DateTime<Utc>,
    pub admit_per_minute: u32,
    pub pass_ttl_secs: i64,
    /// Buyers who have taken a place in line since opening (early arrivals count once drawn).
    pub queued: i64,
    /// Buyers let through so far.
    pub admitted: i64,
}

impl WaitingRoomDto {
    fn new(room: &WaitingRoom, now: i64) -> WaitingRoomDto {
        let a = &room.admission;
        WaitingRoomDto {
            event_id: room.event_id.0,
            opens_at: time(a.opens_at_ms),
            admit_per_minute: a.per_minute,
            pass_ttl_secs: room.pass_ttl_ms / 1_000,
            queued: a.next_seq,
            admitted: a.frontier_at(now).min(a.next_seq),
        }
    }
}

/// Where a buyer stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStandingDto {
    pub entry_id: String,
    pub event_id: i64,
    /// `early` (arrived before opening; the order is drawn then), `waiting`, `admitted`, or
    /// `expired` (the admission ran out: join again for a new place).
    pub status: &'static str,
    /// 1 = next in line. Absent before the draw and once admitted.
    pub position: Option<i64>,
    pub estimated_wait_secs: Option<i64>,
    pub opens_at: DateTime<Utc>,
    /// Before opening: how many buyers are in the draw.
    pub early_arrivals: Option<i64>,
    /// Send as the `Admission-Pass` header when creating holds.
    pub admission_pass: Option<String>,
    pub pass_expires_at: Option<DateTime<Utc>>,
    /// When to ask again.
    pub poll_after_secs: i64,
}

async fn standing_dto(state: &AppState, e: &QueueEntry, now: i64) -> Result<QueueStandingDto, ApiError> {
    let mut dto = QueueStandingDto {
        entry_id: e.id.clone(),
        event_id: e.event_id.0,
        status: "waiting",
        position: None,
        estimated_wait_secs: None,
        opens_at: time(e.opens_at_ms),
        early_arrivals: None,
        admission_pass: None,
        pass_expires_at: None,
        poll_after_secs: 5,
    };
    match (e.standing, e.admitted_at_ms) {
        (_, Some(admitted_at)) => {
            let expires_at_ms = admitted_at + e.pass_ttl_ms;
            if now >= expires_at_ms {
                dto.status = "expired";
                return Ok(dto);
            }
            let key = state.signer(e.event_id).await?.pass_key;
            let pass = AdmissionPass { event_id: e.event_id, entry_id: e.id.clone(), expires_at_ms };
            dto.status = "admitted";
            dto.admission_pass = Some(admission::issue(&key, &pass));
            dto.pass_expires_at = Some(time(expires_at_ms));
            dto.poll_after_secs = ((expires_at_ms - now) / 1_000).max(1);
        }
        (Standing::Early, None) => {
            dto.status = "early";
            dto.early_arrivals = Some(e.early_arrivals);
            dto.poll_after_secs = ((e.opens_at_ms - now) / 1_000).clamp(1, 30);
        }
        (Standing::Waiting { position, wait_ms }, None) => {
            dto.position = Some(position);
            dto.estimated_wait_secs = Some(wait_ms / 1_000);
            dto.poll_after_secs = (wait_ms / 10_000).clamp(2, 30);
        }
        (Standing::Admitted, None) => return Err(ApiError::Internal("admitted without a recorded time".into())),
    }
    Ok(dto)
}

fn cookie_name(event: EventId) -> String {
    format!("admit_queue_{}", event.0)
}

/// The entry id this browser already holds for the event, from its cookie.
fn entry_from_cookie(headers: &HeaderMap, event: EventId) -> Option<String> {
    crate::cookie::value(headers, &cookie_name(event))
}

async fn organiser_room(state: &AppState, staff: &StaffUser, event: EventId) -> Result<(), ApiError> {
    let owner = state.store.event(event).await?.event.organiser_id;
    staff.require_organiser(owner)?;
    if staff.role != StaffRole::Admin {
        return Err(ApiError::forbidden("Only organiser administrators configure the waiting room."));
    }
    Ok(())
}

#[utoipa::path(put, path = "/events/{event_id}/waiting-room", tag = "waiting room", request_body = WaitingRoomInput,
    params(("event_id" = i64, Path)),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "On (or reconfigured: everyone keeps their place)", body = WaitingRoomDto),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's event, or gate staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_waiting_room(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiPath(event_id): ApiPath<i64>,
    ApiJson(input): ApiJson<WaitingRoomInput>,
) -> Result<Json<WaitingRoomDto>, ApiError> {
    let event = EventId(event_id);
    organiser_room(&state, &staff, event).await?;
    if !(1..=1_000_000).contains(&input.admit_per_minute) {
        return Err(ApiError::validation("admit_per_minute must be 1 to 1,000,000."));
    }
    if !(60..=86_400).contains(&input.pass_ttl_secs) {
        return Err(ApiError::validation("pass_ttl_secs must be 60 to 86,400 (one minute to one day)."));
    }
    let config = WaitingRoomConfig {
        opens_at_ms: input.opens_at.timestamp_millis(),
        admit_per_minute: input.admit_per_minute,
        pass_ttl_ms: i64::from(input.pass_ttl_secs) * 1_000,
    };
    let now = now_ms();
    state.store.set_waiting_room(event, Some(config), now).await?;
    state.forget_waiting_room(event);
    let room = state.store.waiting_room(event).await?.ok_or(ApiError::Internal("waiting room vanished".into()))?;
    Ok(Json(WaitingRoomDto::new(&room, now)))
}

#[utoipa::path(delete, path = "/events/{event_id}/waiting-room", tag = "waiting room",
    params(("event_id" = i64, Path)),
    security(("staff_token" = [])),
    responses(
        (status = 204, description = "Off: holds no longer need a pass; the queue is forgotten"),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's event, or gate staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_waiting_room(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiPath(event_id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let event = EventId(event_id);
    organiser_room(&state, &staff, event).await?;
    state.store.set_waiting_room(event, None, now_ms()).await?;
    state.forget_waiting_room(event);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/events/{event_id}/waiting-room", tag = "waiting room",
    params(("event_id" = i64, Path)),
    responses(
        (status = 200, description = "The event sells through a waiting room", body = WaitingRoomDto),
        (status = 404, description = "No such event, or it has no waiting room", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_waiting_room(
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<i64>,
) -> Result<Json<WaitingRoomDto>, ApiError> {
    let room = state.store.waiting_room(EventId(event_id)).await?.ok_or(ApiError::not_found("waiting room"))?;
    Ok(Json(WaitingRoomDto::new(&room, now_ms())))
}

#[utoipa::path(post, path = "/events/{event_id}/queue", tag = "waiting room",
    params(("event_id" = i64, Path)),
    responses(
        (status = 201, description = "A new place in line (sets the `admit_queue_<event id>` cookie)", body = QueueStandingDto),
        (status = 200, description = "This browser already has a place: the same one", body = QueueStandingDto),
        (status = 404, description = "No such event, or it has no waiting room", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many joins from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn join_queue(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiPath(event_id): ApiPath<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let event = EventId(event_id);
    let now = now_ms();
    if let Some(id) = entry_from_cookie(&headers, event) {
        match state.store.queue_entry(event, &id, now).await {
            Ok(entry) => {
                let dto = standing_dto(&state, &entry, now).await?;
                if dto.status != "expired" {
                    return Ok(Json(dto).into_response());
                }
            }
            Err(StoreError::NotFound("queue entry")) => {}
            Err(e) => return Err(e.into()),
        }
    }
    state.limiters.join(client)?;
    let join = QueueJoin {
        event_id: event,
        entry_id: uuid::Uuid::new_v4().to_string(),
        lottery: rand::thread_rng().gen_range(0..i64::MAX),
        now_ms: now,
    };
    let entry = state.store.queue_join(join).await?;
    let dto = standing_dto(&state, &entry, now).await?;
    let cookie = crate::cookie::private(
        &cookie_name(event),
        &entry.id,
        "/",
        Duration::from_secs(86_400),
        state.settings.secure_cookies,
    );
    let location = HeaderValue::from_str(&format!("/events/{event_id}/queue/{}", entry.id))
        .map_err(|e| ApiError::Internal(format!("queue location: {e}")))?;
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie), (header::LOCATION, location)], Json(dto)).into_response())
}

#[utoipa::path(get, path = "/events/{event_id}/queue/{entry_id}", tag = "waiting room",
    params(("event_id" = i64, Path), ("entry_id" = String, Path, description = "Your place (a capability: keep it private)")),
    responses(
        (status = 200, description = "Where you stand; once admitted, with the admission pass", body = QueueStandingDto),
        (status = 404, description = "No such place in line", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_standing(
    State(state): State<AppState>,
    ApiPath((event_id, entry_id)): ApiPath<(i64, String)>,
) -> Result<Json<QueueStandingDto>, ApiError> {
    let now = now_ms();
    let entry = state.store.queue_entry(EventId(event_id), &entry_id, now).await?;
    Ok(Json(standing_dto(&state, &entry, now).await?))
}
