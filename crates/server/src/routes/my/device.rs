//! Binding the phone's WebCrypto key to a ticket (and moving it to another phone).

use super::dto::{BindDeviceInput, PhoneTicketDto};
use super::ticket_id;
use super::tickets::{dto, no_store};
use crate::buyer::BuyerSession;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::service::binding;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;

#[utoipa::path(post, path = "/my/api/tickets/{ticket_id}/device", tag = "phone", request_body = BindDeviceInput,
    security(("buyer_session" = [])),
    params(("ticket_id" = String, Path, description = "Ticket id (decimal)")),
    responses(
        (status = 200, description = "Bound (the ticket was re-issued for this key: every earlier credential is revoked), or already bound to this key", body = PhoneTicketDto),
        (status = 401, description = "No buyer session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in this session's orders", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`device-already-bound` (send `rebind: true` to move it here), `ticket-version-changed` (reload and sign again) or `ticket-canceled`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown algorithm, unusable key, or a proof that is not a fresh signature by that key (`device-proof-invalid`, `device-proof-stale`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bind(
    State(state): State<AppState>,
    session: BuyerSession,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<BindDeviceInput>,
) -> Result<Response, ApiError> {
    let view = binding::bind(&state, session, ticket_id(&id)?, input).await?;
    Ok(no_store(Json(dto(&state, &view).await?)))
}
