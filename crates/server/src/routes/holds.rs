//! Holds: ask for seats or units; get them for a while, or "sold out" with alternatives.
//!
//! A hold asked for with an `Idempotency-Key` is named after the key (`Idempotent::derived_id`),
//! so a retry whose first answer was lost (the process died after the hold was made, before
//! its answer was stored) answers that hold instead of making a second, ownerless one.

use crate::admission::{self, AdmissionPass};
use crate::dto::{CreateHold, HoldDto};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency::Idempotent;
use crate::ratelimit::ClientAddr;
use crate::service::alternatives;
use crate::state::{AppState, now_ms};
use admit_domain::{EventId, GradeId, MAX_TICKETS_PER_HOLD, SeatId, SeatingMode, SessionId};
use admit_store::{Hold, HoldRequest, NewHold, StoreError};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

/// The header that carries the waiting room's admission pass.
pub const ADMISSION_PASS: &str = "admission-pass";

#[utoipa::path(post, path = "/holds", tag = "holds", request_body = CreateHold,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first outcome"),
        ("Admission-Pass" = Option<String>, Header, description = "Required when the event sells through a waiting room"),
    ),
    responses(
        (status = 201, description = "Held until `expires_at`", body = HoldDto),
        (status = 403, description = "The event's waiting room has not admitted you (no or invalid `Admission-Pass`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many holds from this address or buyer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Sold out (`alternatives` lists what is available)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session or grade", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_hold(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    idempotent: Option<Extension<Idempotent>>,
    ApiJson(req): ApiJson<CreateHold>,
) -> Result<Response, ApiError> {
    state.limiters.hold(client)?;
    let id = match &idempotent {
        Some(Extension(idem)) => {
            let id = idem.derived_id("hold");
            // An earlier run of this very request made the hold: answer it, whatever changed since.
            if let Some(hold) = existing_hold(&state, &id).await? {
                return Ok(created(&hold));
            }
            id
        }
        None => crate::ids::time_ordered(),
    };
    let session_id = SessionId(req.session_id);
    let event_id = state.places.session(state.store.as_ref(), session_id).await?.event_id;
    if state.has_waiting_room(event_id).await? {
        let pass = admission_pass(&state, &headers, event_id).await?;
        state.limiters.hold_for_buyer(&pass.entry_id)?;
    }
    let (request, wanted_grade, quantity) = match (req.seat_ids, req.grade_id, req.quantity) {
        (Some(ids), None, None) => {
            if ids.is_empty() || ids.len() > MAX_TICKETS_PER_HOLD as usize {
                return Err(ApiError::validation(format!("seat_ids must list 1 to {MAX_TICKETS_PER_HOLD} seats.")));
            }
            let n = ids.len() as u32;
            let first = SeatId(ids[0]);
            (HoldRequest::Seats(ids.into_iter().map(SeatId).collect()), Wanted::GradeOfSeat(first), n)
        }
        (None, Some(grade), Some(quantity)) => {
            if quantity == 0 || quantity > MAX_TICKETS_PER_HOLD {
                return Err(ApiError::validation(format!("quantity must be 1 to {MAX_TICKETS_PER_HOLD}.")));
            }
            let grades = state.places.grades(state.store.as_ref(), event_id).await?;
            let g = grades
                .iter()
                .find(|g| g.id.0 == grade)
                .ok_or_else(|| ApiError::validation(format!("Grade {grade} is not offered for this event.")))?;
            let request = match g.seating {
                SeatingMode::Reserved => {
                    HoldRequest::BestAvailable { grade: g.id, quantity, require_adjacent: req.require_adjacent }
                }
                SeatingMode::GeneralAdmission => HoldRequest::Units { grade: g.id, quantity },
            };
            (request, Wanted::Grade(g.id), quantity)
        }
        _ => return Err(ApiError::validation("Give either `seat_ids`, or `grade_id` with `quantity`.")),
    };
    let now = now_ms();
    let new = NewHold {
        id: id.clone(),
        session_id,
        request,
        now_ms: now,
        expires_at_ms: now + state.settings.hold_ttl.as_millis() as i64,
    };
    match state.store.create_hold(new).await {
        Ok(hold) => Ok(created(&hold)),
        // A run of the same request that took the claim over meanwhile made it first.
        Err(StoreError::Conflict(_)) if idempotent.is_some() => existing_hold(&state, &id)
            .await?
            .map(|h| created(&h))
            .ok_or_else(|| ApiError::Internal("hold id taken".into())),
        Err(StoreError::SoldOut) => {
            // Only a refusal pays for working out what else is on offer.
            let grade = match wanted_grade {
                Wanted::Grade(g) => Some(g),
                Wanted::GradeOfSeat(seat) => seat_grade(&state, session_id, seat).await?,
            };
            let alternatives = match grade {
                Some(grade) => {
                    alternatives::find(&state, &alternatives::Wanted { session: session_id, grade, quantity }).await?
                }
                None => Vec::new(),
            };
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "sold-out",
                "Sold out",
                "What you asked for is no longer available. See `alternatives` for what is.",
            )
            .with("alternatives", alternatives))
        }
        Err(e) => Err(e.into()),
    }
}

/// The answer to a new hold: 201 with its `Location`.
fn created(hold: &Hold) -> Response {
    let location = format!("/holds/{}", hold.id);
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(HoldDto::new(hold, now_ms()))).into_response()
}

/// The hold with this id, if there is one.
async fn existing_hold(state: &AppState, id: &str) -> Result<Option<Hold>, ApiError> {
    match state.store.hold(id).await {
        Ok(hold) => Ok(Some(hold)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The `Admission-Pass` header, checked for `event`.
async fn admission_pass(state: &AppState, headers: &HeaderMap, event: EventId) -> Result<AdmissionPass, ApiError> {
    let queue = format!("/events/{}/queue", event.0);
    let Some(text) = headers.get(ADMISSION_PASS).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admission-pass-required",
            "Admission pass required",
            format!("This on-sale runs through a waiting room: join it at {queue}; once admitted, send the pass as the `Admission-Pass` header."),
        )
        .with("waiting_room", queue));
    };
    let key = state.signer(event).await?.pass_key;
    admission::verify(&key, text, event, now_ms()).map_err(|e| {
        ApiError::new(StatusCode::FORBIDDEN, "admission-pass-invalid", "Admission pass not accepted", e.to_string())
            .with("waiting_room", queue)
    })
}

/// What the buyer asked for, to suggest alternatives if it is sold out.
enum Wanted {
    Grade(GradeId),
    /// Explicit seats: the grade of the first one.
    GradeOfSeat(SeatId),
}

/// The grade of a seat in this session, to suggest alternatives for an explicit-seat request.
async fn seat_grade(state: &AppState, session: SessionId, seat: SeatId) -> Result<Option<GradeId>, ApiError> {
    Ok(state.store.seats(session).await?.iter().find(|s| s.id == seat).map(|s| s.grade_id))
}

#[utoipa::path(get, path = "/holds/{hold_id}", tag = "holds",
    params(("hold_id" = String, Path, description = "Hold id (a capability: keep it private)")),
    responses(
        (status = 200, description = "The hold", body = HoldDto),
        (status = 404, description = "No such hold", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_hold(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> Result<Json<HoldDto>, ApiError> {
    Ok(Json(HoldDto::new(&state.store.hold(&id).await?, now_ms())))
}

#[utoipa::path(delete, path = "/holds/{hold_id}", tag = "holds",
    params(
        ("hold_id" = String, Path, description = "Hold id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first outcome"),
    ),
    responses(
        (status = 200, description = "Cancelled: the seats are back on sale at once", body = HoldDto),
        (status = 404, description = "No such hold", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already paid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_hold(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<HoldDto>, ApiError> {
    let now = now_ms();
    Ok(Json(HoldDto::new(&state.store.cancel_hold(&id, now).await?, now)))
}
