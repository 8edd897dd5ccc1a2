//! Paying for a hold, reading the order, and fetching a ticket's credential as text or QR.
//! Order ids are unguessable capabilities: only the buyer who paid knows theirs.

use crate::dto::{OrderDto, PayRequest};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency::{self, Idempotent};
use crate::service::login_link;
use crate::service::purchase::{self, Paid};
use crate::state::AppState;
use admit_domain::TicketId;
use admit_payments::{CardDetails, PaymentMethod};
use admit_store::{Order, Ticket};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

#[utoipa::path(post, path = "/holds/{hold_id}/payments", tag = "orders", request_body = PayRequest,
    params(
        ("hold_id" = String, Path, description = "Hold id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first outcome and never charge twice"),
    ),
    responses(
        (status = 201, description = "Approved: reservation complete, tickets issued", body = OrderDto),
        (status = 200, description = "The hold was already paid: its order", body = OrderDto),
        (status = 402, description = "Declined (`decline_code`); the hold is kept for another try", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The hold expired or was cancelled, or a payment is in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid card details", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The payment provider timed out; the hold is kept", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn pay(
    State(state): State<AppState>,
    ApiPath(hold_id): ApiPath<String>,
    idempotent: Option<Extension<Idempotent>>,
    ApiJson(req): ApiJson<PayRequest>,
) -> Result<Response, ApiError> {
    let c = req.card;
    let card = CardDetails::parse(&c.number, c.exp_month, c.exp_year, &c.cvc)
        .map_err(|e| ApiError::validation(format!("card: {e}")))?;
    if idempotent.is_some_and(|Extension(i)| i.in_progress()) {
        // The first request with this key still holds its claim, or died holding it: if its
        // payment completed, the buyer need not wait out the lease for the order.
        let hold = state.store.hold(&hold_id).await?;
        let Some(order_id) = hold.order_id else { return Err(idempotency::in_progress()) };
        let order = state.store.order(&order_id).await?;
        return Ok(Json(confirmation(&state, &order).await).into_response());
    }
    match purchase::pay(&state, &hold_id, PaymentMethod::Card(card)).await? {
        Paid::New(order, login_url) => {
            let location = format!("/orders/{}", order.id);
            let mut body = OrderDto::from(&order);
            body.login_url = Some(login_url);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
        }
        Paid::Existing(order) => Ok(Json(confirmation(&state, &order).await).into_response()),
    }
}

/// The order with a fresh login link. The order is paid whatever happens here, so a link that
/// cannot be stored is logged and left out (`POST /orders/{id}/login-link` makes another) rather than
/// turning the confirmation into an error.
async fn confirmation(state: &AppState, order: &Order) -> OrderDto {
    let mut dto = OrderDto::from(order);
    match login_link::mint(state, &order.id).await {
        Ok(url) => dto.login_url = Some(url),
        Err(e) => tracing::error!(order.id = %order.id, error = %e, "no login link in the confirmation"),
    }
    dto
}

#[utoipa::path(get, path = "/orders/{order_id}", tag = "orders",
    params(("order_id" = String, Path, description = "Order id (a capability: keep it private)")),
    responses(
        (status = 200, description = "The order and its tickets (reading writes nothing: a fresh login link is `POST /orders/{order_id}/login-link`)", body = OrderDto),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_order(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderDto>, ApiError> {
    Ok(Json(OrderDto::from(&state.store.order(&id).await?)))
}

/// The ticket, only if it belongs to the order named in the path.
async fn owned_ticket(state: &AppState, order_id: &str, ticket_id: &str) -> Result<Ticket, ApiError> {
    let id: i64 = ticket_id.parse().map_err(|_| ApiError::not_found("ticket"))?;
    match state.store.ticket(TicketId(id)).await {
        Ok(t) if t.order_id == order_id => Ok(t),
        Ok(_) | Err(admit_store::StoreError::NotFound(_)) => Err(ApiError::not_found("ticket")),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/orders/{order_id}/tickets/{ticket_id}/credential", tag = "orders",
    params(("order_id" = String, Path), ("ticket_id" = String, Path)),
    responses(
        (status = 200, description = "The signed credential as text (what the QR holds)", body = String, content_type = "text/plain"),
        (status = 404, description = "No such ticket in this order", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn credential(
    State(state): State<AppState>,
    ApiPath((order, ticket)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let t = owned_ticket(&state, &order, &ticket).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], t.credential).into_response())
}

async fn qr(state: &AppState, order: &str, ticket: &str, format: &'static str) -> Result<Bytes, ApiError> {
    let t = owned_ticket(state, order, ticket).await?;
    // The image is the static credential: only where the organiser accepts printed tickets.
    if !state.places.credential_policy(state.store.as_ref(), t.event_id).await?.static_accepted {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "static-not-accepted",
            "Printed tickets are not accepted",
            "The organiser admits this event only with the live code on the buyer's phone: open the ticket with the order's login link.",
        ));
    }
    let key = (t.id.0, t.version, format);
    if let Some(hit) = state.qr_cache.get(&key) {
        return Ok(hit);
    }
    let text = t.credential;
    let rendered = tokio::task::spawn_blocking(move || match format {
        "svg" => admit_credential::qr::svg(&text).map(Bytes::from),
        _ => admit_credential::qr::png(&text, 8).map(Bytes::from),
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(format!("QR rendering failed: {e}")))?;
    state.qr_cache.insert(key, rendered.clone());
    Ok(rendered)
}

#[utoipa::path(get, path = "/orders/{order_id}/tickets/{ticket_id}/qr.svg", tag = "orders",
    params(("order_id" = String, Path), ("ticket_id" = String, Path)),
    responses(
        (status = 200, description = "The credential as a QR code (SVG)", content_type = "image/svg+xml"),
        (status = 404, description = "No such ticket in this order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`static-not-accepted`: the event admits only the phone's live code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn qr_svg(
    State(state): State<AppState>,
    ApiPath((order, ticket)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let svg = qr(&state, &order, &ticket, "svg").await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, max-age=300")], svg)
        .into_response())
}

#[utoipa::path(get, path = "/orders/{order_id}/tickets/{ticket_id}/qr.png", tag = "orders",
    params(("order_id" = String, Path), ("ticket_id" = String, Path)),
    responses(
        (status = 200, description = "The credential as a QR code (PNG)", content_type = "image/png"),
        (status = 404, description = "No such ticket in this order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`static-not-accepted`: the event admits only the phone's live code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn qr_png(
    State(state): State<AppState>,
    ApiPath((order, ticket)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let png = qr(&state, &order, &ticket, "png").await?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=300")], png).into_response())
}
