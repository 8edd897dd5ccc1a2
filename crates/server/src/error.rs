//! The one HTTP error type. Every failure leaves the API as RFC 9457 problem+json with a
//! stable `type`; internal errors are logged with their cause and shown only as a plain 500.

use admit_domain::HoldState;
use admit_store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A problem details document (RFC 9457). Extension members carry machine-readable detail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the problem kind, e.g. `/problems/sold-out`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Extension members (e.g. `alternatives`, `decline_code`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    Problem {
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: String,
        extensions: Map<String, Value>,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Problem { status, slug, title, detail: detail.into(), extensions: Map::new() }
    }

    /// Adds an extension member to the problem document.
    pub fn with(mut self, key: &str, value: impl Serialize) -> ApiError {
        if let ApiError::Problem { extensions, .. } = &mut self {
            extensions.insert(key.to_owned(), serde_json::to_value(value).unwrap_or(Value::Null));
        }
        self
    }

    pub fn validation(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "The request is not valid", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed-request", "The request could not be read", detail)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("No such {what}."))
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
    }

    pub fn hold_not_active(state: HoldState) -> ApiError {
        let (slug, title, detail) = match state {
            HoldState::Expired => (
                "hold-expired",
                "The hold has expired",
                "The hold expired and its seats returned to sale; place a new hold.",
            ),
            HoldState::Released => {
                ("hold-released", "The hold was cancelled", "The hold was cancelled; place a new hold.")
            }
            HoldState::Converted => {
                ("hold-paid", "The hold is already paid", "This hold was already paid; see its order.")
            }
            HoldState::Active => ("hold-active", "The hold is active", "The hold is still active."),
        };
        ApiError::new(StatusCode::CONFLICT, slug, title, detail)
    }

    fn problem(&self) -> (StatusCode, Problem) {
        match self {
            ApiError::Problem { status, slug, title, detail, extensions } => (
                *status,
                Problem {
                    kind: format!("/problems/{slug}"),
                    title: (*title).to_owned(),
                    status: status.as_u16(),
                    detail: detail.clone(),
                    extensions: extensions.clone(),
                },
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Problem {
                    kind: "/problems/internal".into(),
                    title: "Internal error".into(),
                    status: 500,
                    detail: "Something went wrong on our side; nothing was changed. Please try again.".into(),
                    extensions: Map::new(),
                },
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::SoldOut => ApiError::new(StatusCode::CONFLICT, "sold-out", "Sold out", "Not enough available."),
            StoreError::HoldNotActive(state) => ApiError::hold_not_active(state),
            StoreError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail),
            StoreError::Invalid(detail) => ApiError::validation(detail),
            StoreError::Denied(reason) => ApiError::new(StatusCode::CONFLICT, "denied", "Denied", reason.to_string())
                .with("reason", reason.code()),
            StoreError::Other(source) => ApiError::Internal(format!("{source:#}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error.cause = %cause, "internal error");
        }
        let (status, body) = self.problem();
        let retry_after = body.extensions.get("retry_after_secs").and_then(Value::as_u64);
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// Turns the bare 503 of the request timeout (`TimeoutLayer`, which answers with an empty
/// body) into problem+json; every other response passes untouched.
pub async fn timed_out_as_problem(response: Response) -> Response {
    let bare =
        response.status() == StatusCode::SERVICE_UNAVAILABLE && !response.headers().contains_key(header::CONTENT_TYPE);
    if !bare {
        return response;
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "request-timeout",
        "The request took too long",
        "The server did not finish this request in time; nothing you can see was lost. Try again in a moment \
         (with the same Idempotency-Key for a payment).",
    )
    .with("retry_after_secs", 1)
    .into_response()
}

/// Every problem `type` the API can answer with, for `/problems` and the docs.
pub const PROBLEM_TYPES: &[(&str, &str)] = &[
    ("malformed-request", "The body, path or query could not be parsed (400)."),
    ("unsupported-media-type", "The body must be JSON with `Content-Type: application/json` (415)."),
    ("validation", "The request was understood but a value is not acceptable (422)."),
    ("unauthorized", "A staff token is missing or unknown (401)."),
    ("forbidden", "The token may not do this (403)."),
    ("not-found", "No such resource (404)."),
    ("method-not-allowed", "The resource does not support this method (405)."),
    ("sold-out", "Not enough available; `alternatives` lists what is (409)."),
    ("hold-expired", "The hold expired before it was paid (409)."),
    ("hold-released", "The hold was cancelled (409)."),
    ("hold-paid", "The hold was already paid (409)."),
    ("conflict", "The request conflicts with the current state (409)."),
    ("payment-in-progress", "Another payment for this hold is being processed (409)."),
    ("payment-declined", "The card was declined; `decline_code` says why; the hold is kept (402)."),
    ("payment-timeout", "The payment provider did not answer in time; the hold is kept (504)."),
    ("payment-unavailable", "The payment provider is unavailable; the hold is kept (503)."),
    (
        "tickets-not-issued",
        "The payment was approved but the tickets cannot be issued; it was refunded and the hold released (500).",
    ),
    ("idempotency-key-reused", "The Idempotency-Key was used for a different request (422)."),
    ("idempotency-in-progress", "A request with this Idempotency-Key is still running (409)."),
    (
        "admission-pass-required",
        "This event sells through a waiting room: join it, then send the pass as `Admission-Pass` (403).",
    ),
    ("admission-pass-invalid", "The admission pass is malformed, forged, expired or for another event (403)."),
    ("rate-limited", "Too many requests from this address or buyer; `Retry-After` says when to try again (429)."),
    ("payload-too-large", "The request body is too large (413)."),
    ("request-timeout", "The server did not finish the request within its time limit; try again (503)."),
    ("device-already-bound", "The ticket is bound to another phone; send `rebind: true` to move it (409)."),
    ("ticket-version-changed", "The ticket was re-issued meanwhile; reload it and sign again (409)."),
    ("ticket-canceled", "The ticket was cancelled (409)."),
    (
        "device-proof-invalid",
        "The device proof is not that key's signature over the ticket, version and counter (422).",
    ),
    ("device-proof-stale", "The device proof's counter is outside the event's proof window (422)."),
    ("static-not-accepted", "The event admits only the phone's live code, not a printed/static ticket (409)."),
    ("internal", "Something failed on the server; nothing was changed (500)."),
];
