//! The buyer session's tickets, loaded live with every field the phone shows.

use super::dto::PhoneTicketDto;
use super::{policy, ticket_id};
use crate::buyer::BuyerSession;
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::state::{AppState, now_ms};
use admit_store::TicketView;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The live ticket answer: never stored by shared caches, never reused without asking.
pub fn no_store(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

pub async fn dto(state: &AppState, view: &TicketView) -> Result<PhoneTicketDto, ApiError> {
    Ok(PhoneTicketDto::new(view, policy(state, view.ticket.event_id).await?, now_ms()))
}

#[utoipa::path(get, path = "/my/api/tickets", tag = "phone",
    security(("buyer_session" = [])),
    responses(
        (status = 200, description = "Every ticket of every order this browser opened a login link for", body = [PhoneTicketDto]),
        (status = 401, description = "No buyer session: open the login link from the order confirmation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(State(state): State<AppState>, session: BuyerSession) -> Result<Response, ApiError> {
    let views = state.store.buyer_tickets(session.hash).await?.ok_or_else(|| {
        ApiError::unauthorized("This browser's session is unknown: open the login link from your order confirmation.")
    })?;
    let mut tickets = Vec::with_capacity(views.len());
    for v in &views {
        tickets.push(dto(&state, v).await?);
    }
    Ok(no_store(Json(tickets)))
}

#[utoipa::path(get, path = "/my/api/tickets/{ticket_id}", tag = "phone",
    security(("buyer_session" = [])),
    params(("ticket_id" = String, Path, description = "Ticket id (decimal)")),
    responses(
        (status = 200, description = "The ticket, live", body = PhoneTicketDto),
        (status = 401, description = "No buyer session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in this session's orders", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    session: BuyerSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let view = state.store.buyer_ticket(session.hash, ticket_id(&id)?).await?;
    Ok(no_store(Json(dto(&state, &view).await?)))
}
