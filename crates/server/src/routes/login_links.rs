//! `POST /orders/{order_id}/login-link`: a fresh one-time login link for the buyer's phone,
//! for a buyer whose link from the confirmation was used or expired. Reading the order
//! (`GET /orders/{id}`) writes nothing; asking for a link is this explicit write.

use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::service::login_link;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// A fresh login link.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginLinkDto {
    /// `/my/login/{token}`: opens the order's tickets on a phone, once, within 24 hours.
    pub login_url: String,
}

#[utoipa::path(post, path = "/orders/{order_id}/login-link", tag = "orders",
    params(("order_id" = String, Path, description = "Order id (a capability: keep it private)")),
    responses(
        (status = 201, description = "A fresh one-time login link for the phone (earlier unused links keep working until they expire)", body = LoginLinkDto),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ApiPath(order_id): ApiPath<String>,
) -> Result<(StatusCode, Json<LoginLinkDto>), ApiError> {
    let login_url = login_link::mint(&state, &order_id).await?;
    Ok((StatusCode::CREATED, Json(LoginLinkDto { login_url })))
}
