//! What the browser gate page offers staff to choose from: their organiser's venues with the
//! gates of each, and the sessions at those venues from now until a week ahead. Only the
//! organiser of the staff token (invariant 7); nothing about sales or revenue.

use crate::auth::StaffUser;
use crate::dto::time;
use crate::error::{ApiError, Problem};
use crate::state::{AppState, now_ms};
use admit_store::{SessionAtVenue, SessionWindow, Venue};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// How far ahead the list reaches: sessions whose doors open within this many milliseconds.
pub const SESSION_HORIZON_MS: i64 = 7 * 24 * 3_600_000;

/// Where a staff member may scan, and for which sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatePlacesDto {
    /// The organiser's venues by name, each with its gates.
    pub venues: Vec<GateVenueDto>,
    /// Sessions not yet ended whose doors open within a week, soonest first. A gate admits
    /// only for sessions at its own venue.
    pub sessions: Vec<GateSessionDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GateVenueDto {
    pub id: i64,
    pub name: String,
    pub city: String,
    pub gates: Vec<GateChoiceDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GateChoiceDto {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GateSessionDto {
    pub id: i64,
    pub event_id: i64,
    pub event_name: String,
    pub venue_id: i64,
    pub label: String,
    pub doors_at: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl From<&Venue> for GateVenueDto {
    fn from(v: &Venue) -> Self {
        GateVenueDto {
            id: v.id.0,
            name: v.name.clone(),
            city: v.city.clone(),
            gates: v.gates.iter().map(|g| GateChoiceDto { id: g.id.0, name: g.name.clone() }).collect(),
        }
    }
}

impl From<&SessionAtVenue> for GateSessionDto {
    fn from(s: &SessionAtVenue) -> Self {
        GateSessionDto {
            id: s.session.id.0,
            event_id: s.session.event_id.0,
            event_name: s.event_name.clone(),
            venue_id: s.venue_id.0,
            label: s.session.label.clone(),
            doors_at: time(s.session.doors_at_ms),
            starts_at: time(s.session.starts_at_ms),
            ends_at: time(s.session.ends_at_ms),
        }
    }
}

#[utoipa::path(get, path = "/gate/places", tag = "gate",
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The organiser's venues with their gates, and sessions from now until a week ahead", body = GatePlacesDto),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn places(State(state): State<AppState>, staff: StaffUser) -> Result<Json<GatePlacesDto>, ApiError> {
    let now = now_ms();
    let window = SessionWindow { ended_after_ms: now, doors_before_ms: now.saturating_add(SESSION_HORIZON_MS) };
    let places = state.store.staff_places(staff.organiser_id, window).await?;
    Ok(Json(GatePlacesDto {
        venues: places.venues.iter().map(GateVenueDto::from).collect(),
        sessions: places.sessions.iter().map(GateSessionDto::from).collect(),
    }))
}
