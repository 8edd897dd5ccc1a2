//! `Idempotency-Key` for every state-changing request: the first outcome is stored and a
//! retry with the same key gets exactly that answer back, so nothing is charged, sold or
//! scanned twice. A retry while the first is still running gets 409; the same key with a
//! different request gets 422. Answers of 5xx are not stored: the retry runs again (every
//! handler is safe to re-run: a paid hold answers with its order).

use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use admit_store::{IdempotencyStart, StoredResponse};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
const MAX_BODY: usize = 64 * 1024;
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_owned(),
        _ => {
            return ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters.").into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request too large",
                "The body is over 64 KiB.",
            )
            .into_response();
        }
    };
    let scope = format!("{} {}", parts.method, parts.uri.path());
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(parts.uri.query().unwrap_or("").as_bytes());
    hasher.update([0]);
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        hasher.update(auth.as_bytes());
    }
    hasher.update([0]);
    // The buyer's session cookie authenticates `/my/api/…` like a token does elsewhere.
    if let Some(session) = crate::buyer::token_from(&parts.headers) {
        hasher.update(session.as_bytes());
    }
    hasher.update([0]);
    hasher.update(&bytes);
    let hash: [u8; 32] = hasher.finalize().into();

    let lease = state.settings.idempotency_lease.as_millis() as i64;
    match state.store.idempotency_start(&scope, &key, hash, now_ms(), lease).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(IdempotencyStart::KeyReused) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This Idempotency-Key was already used for a different request; use a new key.",
            )
            .into_response();
        }
        Ok(IdempotencyStart::InProgress) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "idempotency-in-progress",
                "Request in progress",
                "A request with this Idempotency-Key is still running; retry shortly.",
            )
            .into_response();
        }
        Ok(IdempotencyStart::Replay(stored)) => return replay(stored),
        Ok(IdempotencyStart::Proceed) => {}
    }

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (mut parts, body) = response.into_parts();
    let body = match to_bytes(body, MAX_RESPONSE).await {
        Ok(b) => b,
        Err(e) => {
            let _ = state.store.idempotency_release(&scope, &key).await;
            return ApiError::Internal(format!("reading the response failed: {e}")).into_response();
        }
    };
    let outcome = if parts.status.is_server_error() {
        state.store.idempotency_release(&scope, &key).await
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let location = parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let stored = StoredResponse { status: parts.status.as_u16(), content_type, location, body: body.to_vec() };
        state.store.idempotency_finish(&scope, &key, stored).await
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "could not record the idempotent outcome");
    }
    parts.headers.insert("idempotent-replayed", HeaderValue::from_static("false"));
    Response::from_parts(parts, Body::from(body))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    if let Ok(ct) = HeaderValue::from_str(&stored.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    if let Some(location) = stored.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
