//! Browsing: events, their sessions and grades with prices, live availability, seat maps.

use crate::dto::{AvailabilityDto, EventDetailDto, EventSummary, GradeDto, SeatDto, SessionDto, time};
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::state::AppState;
use admit_domain::{EventId, SessionId};
use admit_store::{Grade, Session};
use axum::Json;
use axum::extract::State;

#[utoipa::path(get, path = "/events", tag = "catalogue",
    responses((status = 200, description = "Every event on sale", body = [EventSummary])))]
pub async fn list_events(State(state): State<AppState>) -> Result<Json<Vec<EventSummary>>, ApiError> {
    Ok(Json(state.store.list_events().await?.iter().map(EventSummary::from).collect()))
}

async fn session_dto(state: &AppState, s: &Session, grades: &[Grade]) -> Result<SessionDto, ApiError> {
    let availability = state
        .store
        .availability(s.id)
        .await?
        .into_iter()
        .map(|a| AvailabilityDto {
            grade_id: a.grade_id.0,
            grade_code: grades.iter().find(|g| g.id == a.grade_id).map(|g| g.code.clone()).unwrap_or_default(),
            total: a.total,
            held: a.held,
            sold: a.sold,
            remaining: a.remaining(),
        })
        .collect();
    Ok(SessionDto {
        id: s.id.0,
        event_id: s.event_id.0,
        label: s.label.clone(),
        starts_at: time(s.starts_at_ms),
        ends_at: time(s.ends_at_ms),
        doors_at: time(s.doors_at_ms),
        availability,
    })
}

#[utoipa::path(get, path = "/events/{event_id}", tag = "catalogue",
    params(("event_id" = i64, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event with its grades, prices, sessions and live remaining counts", body = EventDetailDto),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_event(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EventDetailDto>, ApiError> {
    let detail = state.store.event(EventId(id)).await?;
    let mut sessions = Vec::with_capacity(detail.sessions.len());
    for s in &detail.sessions {
        sessions.push(session_dto(&state, s, &detail.grades).await?);
    }
    let policy = state.places.credential_policy(state.store.as_ref(), detail.event.id).await?;
    Ok(Json(EventDetailDto {
        event: EventSummary::from(&detail.event),
        grades: detail.grades.iter().map(GradeDto::from).collect(),
        sessions,
        credential_policy: policy.into(),
    }))
}

#[utoipa::path(get, path = "/sessions/{session_id}", tag = "catalogue",
    params(("session_id" = i64, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session with live remaining counts per grade", body = SessionDto),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn availability(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SessionDto>, ApiError> {
    let session = state.store.session(SessionId(id)).await?;
    let detail = state.store.event(session.event_id).await?;
    Ok(Json(session_dto(&state, &session, &detail.grades).await?))
}

#[utoipa::path(get, path = "/sessions/{session_id}/seats", tag = "catalogue",
    params(("session_id" = i64, Path, description = "Session id")),
    responses(
        (status = 200, description = "The seat map: every seat with its state", body = [SeatDto]),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn seats(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<Json<Vec<SeatDto>>, ApiError> {
    state.store.session(SessionId(id)).await?;
    Ok(Json(state.store.seats(SessionId(id)).await?.iter().map(SeatDto::from).collect()))
}
