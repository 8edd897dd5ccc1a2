//! `Idempotency-Key` for every state-changing request: the first final answer is stored and a
//! retry with the same key gets exactly that answer back, so nothing is charged, sold or
//! scanned twice. A retry while the first is still running gets 409; the same key with a
//! different request gets 422.
//!
//! - **Where it runs.** As a `route_layer`: only requests that matched a route reach it, so
//!   404 and 405 never touch the store. Credentials are checked here, before the store is
//!   touched: a presented bearer token (staff or gate device) must be valid, and routes that
//!   need one ([`needs_credentials`]) refuse a request without, so 401 comes first.
//! - **Scope.** A record belongs to the method, the matched route (`POST /holds/{hold_id}/
//!   payments`, not the concrete path) and the caller: the SHA-256 of the bearer token or of
//!   the buyer-session cookie, or "anonymous". The same key from two callers never meets; the
//!   same key for another hold of the same route is refused as reused (the request hash covers
//!   the concrete path, the query and the body).
//! - **What is stored.** Only final answers ([`is_final`]): every 2xx, and the refusals a
//!   retry of the same request would get again: 400 malformed, 402 declined, 404 not found,
//!   410 gone, 413 too large, 415 wrong media type, 422 invalid. Never 401/403 (credentials or
//!   an admission pass may arrive), 409 (sold out, payment in progress: the state may change),
//!   429 (rate limited), nor any 5xx or other status: the claim is released and a retry runs.
//! - **What is replayed.** Status, body, `Content-Type`, `Location`, and the headers in
//!   [`REPLAYED_HEADERS`] (`Cache-Control: no-store` of the inspection password, `Retry-After`),
//!   with `Idempotent-Replayed: true`.
//! - **Expiry.** A record lives `Settings::idempotency_retention` (24 h by default) from its
//!   first claim; then the key may be used again and the sweeper (`workers.rs`) deletes it.
//! - **A crash.** A claim whose request died is taken over after `Settings::idempotency_lease`.
//!   So that the retry finds what the first run created instead of creating it again, the
//!   handler gets an [`Idempotent`] extension whose [`Idempotent::derived_id`] is the same on
//!   every run of one request (`POST /holds` names its hold so). A route in
//!   [`ANSWERS_WHILE_IN_PROGRESS`] also runs while the first request still holds the claim,
//!   marked [`Idempotent::in_progress`], to answer what is already settled (a paid hold's
//!   order) instead of 409; that answer is not stored.

use crate::buyer::BuyerSession;
use crate::device_auth::ScanCaller;
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use admit_store::{IdempotencyClaim, IdempotencyStart, StoredResponse};
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
/// Says whether an answer is a replay of a stored one.
pub const REPLAYED: &str = "idempotent-replayed";
const MAX_BODY: usize = 64 * 1024;
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Headers a replay repeats besides `Content-Type` and `Location`.
pub static REPLAYED_HEADERS: [HeaderName; 2] = [header::CACHE_CONTROL, header::RETRY_AFTER];

/// Routes whose handler answers a retry while the first request still runs (see
/// [`Idempotent::in_progress`]).
pub const ANSWERS_WHILE_IN_PROGRESS: &[&str] = &["/holds/{hold_id}/payments"];

/// Whether an answer is final (kept and replayed): a retry of the same request would get it
/// again. Everything else lets the retry run.
pub fn is_final(status: StatusCode) -> bool {
    status.is_success() || matches!(status.as_u16(), 400 | 402 | 404 | 410 | 413 | 415 | 422)
}

/// What kind of credentials a route needs before its request may claim a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// Anyone (buyers before they paid, the waiting room's queue).
    None,
    /// A staff or gate-device token.
    Bearer,
    /// The buyer-session cookie (`/my/api/…`).
    BuyerSession,
}

/// The credentials a matched route needs (its handler checks them too, and what they allow).
pub fn needs_credentials(route: &str) -> Credentials {
    if route.starts_with("/my/") {
        Credentials::BuyerSession
    } else if route.starts_with("/gate/")
        || route == "/events/{event_id}/credential-policy"
        || route == "/events/{event_id}/waiting-room"
    {
        Credentials::Bearer
    } else {
        Credentials::None
    }
}

/// Given to the handler of a request carrying a key, as a request extension.
#[derive(Debug, Clone)]
pub struct Idempotent {
    /// SHA-256 of the scope, the key and the request: the same on every run of one request.
    seed: [u8; 32],
    /// When the key was first claimed (kept by a take-over).
    claimed_at_ms: i64,
    in_progress: bool,
}

impl Idempotent {
    /// An id for the `what` this request creates, the same on every run of the request (a
    /// retry after a crash finds what the first run made): a UUIDv7 stamped with the key's
    /// first claim, its other 74 bits from the seed. Whoever knows the key, the caller's
    /// credentials and the request could already replay the answer that names it.
    pub fn derived_id(&self, what: &str) -> String {
        let bits: [u8; 32] = Sha256::new().chain_update(self.seed).chain_update(what.as_bytes()).finalize().into();
        let mut random = [0u8; 10];
        random.copy_from_slice(&bits[..10]);
        uuid::Builder::from_unix_timestamp_millis(self.claimed_at_ms.max(0) as u64, &random).into_uuid().to_string()
    }

    /// The first request with this key still runs (on a route in [`ANSWERS_WHILE_IN_PROGRESS`]):
    /// answer only what is settled already, else [`in_progress`].
    pub fn in_progress(&self) -> bool {
        self.in_progress
    }
}

/// The refusal of a retry while the first request with its key still runs.
pub fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency-in-progress",
        "Request in progress",
        "A request with this Idempotency-Key is still running; retry shortly.",
    )
}

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
    let route = match request.extensions().get::<MatchedPath>() {
        Some(p) => p.as_str().to_owned(),
        // Not under `route_layer` (only matched routes get here): keep no record.
        None => return next.run(request).await,
    };
    let (mut parts, body) = request.into_parts();
    let caller = match caller(&mut parts, &state, &route).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
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
    let scope = format!("{} {route} {caller}", parts.method);
    let request_hash: [u8; 32] = Sha256::new()
        .chain_update(parts.uri.path().as_bytes())
        .chain_update([0])
        .chain_update(parts.uri.query().unwrap_or("").as_bytes())
        .chain_update([0])
        .chain_update(&bytes)
        .finalize()
        .into();
    let seed: [u8; 32] = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .chain_update([0])
        .chain_update(request_hash)
        .finalize()
        .into();

    let now = now_ms();
    let claim = IdempotencyClaim {
        scope: scope.clone(),
        key: key.clone(),
        request_hash,
        now_ms: now,
        lease_ms: state.settings.idempotency_lease.as_millis() as i64,
        expires_at_ms: now + state.settings.idempotency_retention.as_millis() as i64,
    };
    let claimed_at_ms = match state.store.idempotency_start(claim).await {
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
        Ok(IdempotencyStart::InProgress) if ANSWERS_WHILE_IN_PROGRESS.contains(&route.as_str()) => {
            parts.extensions.insert(Idempotent { seed, claimed_at_ms: now, in_progress: true });
            let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            response.headers_mut().insert(REPLAYED, HeaderValue::from_static("false"));
            return response;
        }
        Ok(IdempotencyStart::InProgress) => return in_progress().into_response(),
        Ok(IdempotencyStart::Replay(stored)) => return replay(stored),
        Ok(IdempotencyStart::Proceed { claimed_at_ms }) => claimed_at_ms,
    };

    parts.extensions.insert(Idempotent { seed, claimed_at_ms, in_progress: false });
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (mut parts, body) = response.into_parts();
    let body = match to_bytes(body, MAX_RESPONSE).await {
        Ok(b) => b,
        Err(e) => {
            let _ = state.store.idempotency_release(&scope, &key).await;
            return ApiError::Internal(format!("reading the response failed: {e}")).into_response();
        }
    };
    let outcome = if is_final(parts.status) {
        state.store.idempotency_finish(&scope, &key, stored(&parts, &body)).await
    } else {
        state.store.idempotency_release(&scope, &key).await
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "could not record the idempotent outcome");
    }
    parts.headers.insert(REPLAYED, HeaderValue::from_static("false"));
    Response::from_parts(parts, Body::from(body))
}

/// Who is calling, hashed, for the record's scope; a 401 when the credentials presented are
/// not valid or the route needs some and none came.
async fn caller(parts: &mut Parts, state: &AppState, route: &str) -> Result<String, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let hashed = hex::encode(Sha256::digest(value.as_bytes()));
        // Checks a staff or a gate-device token as the handlers do (they check it again).
        ScanCaller::from_request_parts(parts, state).await?;
        return Ok(format!("bearer:{hashed}"));
    }
    match needs_credentials(route) {
        Credentials::Bearer => Err(ApiError::unauthorized("Send a token as `Authorization: Bearer <token>`.")),
        Credentials::BuyerSession => {
            let session = BuyerSession::from_request_parts(parts, state).await?;
            Ok(format!("buyer:{}", hex::encode(session.hash)))
        }
        Credentials::None => match crate::buyer::token_from(&parts.headers) {
            Some(token) => Ok(format!("buyer:{}", hex::encode(crate::auth::token_hash(&token)))),
            None => Ok("anonymous".into()),
        },
    }
}

/// What is kept of a final answer.
fn stored(parts: &axum::http::response::Parts, body: &[u8]) -> StoredResponse {
    let text = |name: &HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    StoredResponse {
        status: parts.status.as_u16(),
        content_type: text(&header::CONTENT_TYPE).unwrap_or_else(|| "application/octet-stream".into()),
        location: text(&header::LOCATION),
        headers: REPLAYED_HEADERS.iter().filter_map(|n| Some((n.as_str().to_owned(), text(n)?))).collect(),
        body: body.to_vec(),
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    if let Ok(ct) = HeaderValue::from_str(&stored.content_type) {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    if let Some(location) = stored.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
