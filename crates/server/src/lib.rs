//! Admit's HTTP server.
//!
//! `serve` takes a bound listener, the application state and a shutdown signal, so tests start
//! exactly what ships on port 0. Background workers (hold expiry, payment reconciliation) run
//! beside the server and stop with it.

pub mod admission;
pub mod auth;
pub mod buyer;
pub mod cookie;
pub mod device_auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod ids;
pub mod listen;
pub mod ratelimit;
mod routes;
pub mod service;
pub mod state;
mod web;
mod workers;

pub use routes::ApiDoc;
pub use state::{AppState, Settings};

use crate::error::{ApiError, PROBLEM_TYPES};
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router, middleware};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = routes::api().split_for_parts();
    routes::common_responses::add_to(&mut openapi);
    let openapi = Arc::new(serde_json::to_value(&openapi).unwrap_or_default());
    api.merge(routes::gate_page::routes())
        .merge(web::router())
        .route("/openapi.json", get(move || async move { Json(openapi.as_ref().clone()) }))
        .route("/problems", get(problems))
        .route("/health", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
        // Matched routes only: an unrouted path or method never touches the idempotency store.
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found", "No such resource.") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "This resource does not support that method.",
            )
        })
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.settings.request_timeout))
        .layer(middleware::map_response(error::timed_out_as_problem))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn problems() -> Json<serde_json::Value> {
    Json(serde_json::Value::Array(
        PROBLEM_TYPES
            .iter()
            .map(|(slug, meaning)| serde_json::json!({ "type": format!("/problems/{slug}"), "meaning": meaning }))
            .collect(),
    ))
}

/// Serves until `shutdown` resolves, with the background workers running alongside.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let workers = workers::spawn(state.clone());
    let result = axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    for w in workers {
        w.abort();
    }
    result
}
