//! `GET /my/tickets/{id}/print`: the printable static ticket for people without a capable
//! phone: the static signed credential as a QR code, clearly marked as such. Refused with a
//! readable page when the organiser does not accept static credentials for the event, and
//! explained instead when the ticket is bound to a phone (a printed copy would be denied).

use super::html::{self, escape};
use crate::auth::token_hash;
use crate::buyer;
use crate::dto::time;
use crate::error::ApiError;
use crate::routes::my::{dto::status_of, policy, ticket_id};
use crate::state::AppState;
use admit_store::TicketView;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const BANNER: &str = "STATIC TICKET — valid only where the organiser accepts printed tickets";

fn back(id: &str) -> String {
    format!("/my/tickets/{id}")
}

pub async fn page(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(session) = buyer::token_from(&headers) else {
        return html::message(
            StatusCode::UNAUTHORIZED,
            "Open your login link first",
            "Open the login link from your order confirmation on this device, then print from the ticket page.",
            None,
        );
    };
    let view = match ticket_id(&id) {
        Ok(ticket) => state.store.buyer_ticket(token_hash(&session), ticket).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match view {
        Ok(view) => render(&state, &view).await.unwrap_or_else(IntoResponse::into_response),
        Err(ApiError::Problem { status: StatusCode::NOT_FOUND, .. }) => html::message(
            StatusCode::NOT_FOUND,
            "No such ticket",
            "This ticket is not in the orders opened on this device.",
            Some(("/my/tickets", "My tickets")),
        ),
        Err(e) => e.into_response(),
    }
}

async fn render(state: &AppState, view: &TicketView) -> Result<Response, ApiError> {
    let t = &view.ticket;
    let id = t.id.0.to_string();
    if !policy(state, t.event_id).await?.static_accepted {
        return Ok(html::message(
            StatusCode::FORBIDDEN,
            "Printed tickets are not accepted for this event",
            "The organiser admits this event only with the live code on your phone. Open the ticket on your phone.",
            Some((&back(&id), "Open the ticket")),
        ));
    }
    if view.device.is_some() {
        return Ok(html::message(
            StatusCode::CONFLICT,
            "This ticket is bound to a phone",
            "It enters only with the changing code on the phone it is bound to; a printed copy would be refused. \
             To use another phone, open the ticket there and choose \"Move to this phone\".",
            Some((&back(&id), "Open the ticket")),
        ));
    }
    if status_of(view) == "canceled" {
        return Ok(html::message(StatusCode::GONE, "This ticket was cancelled", "It no longer admits anyone.", None));
    }
    let svg = admit_credential::qr::svg(&t.credential)
        .map_err(|e| ApiError::Internal(format!("QR rendering failed for ticket {id}: {e}")))?;
    let when = time(view.starts_at_ms).format("%Y-%m-%d %H:%M UTC");
    let doors = time(view.doors_at_ms).format("%H:%M UTC");
    let seat = t.seat_label.as_deref().unwrap_or("General admission");
    let rows = [
        ("Event", view.event_name.as_str()),
        ("Venue", &format!("{}, {}", view.venue_name, view.venue_city)),
        ("Date and time", &format!("{when} (doors {doors})")),
        ("Round", view.session_label.as_str()),
        ("Seat", seat),
        ("Grade", &format!("{} ({})", view.grade_name, t.grade_code)),
        ("Admits", &format!("1 person, {} entr{}", t.max_entries, if t.max_entries == 1 { "y" } else { "ies" })),
        ("Reference", t.reference.as_str()),
    ];
    let fields: String = rows.iter().map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(v))).collect();
    let body = format!(
        "<section class=\"card print\">\
           <p class=\"static-banner\" data-static=\"true\">{banner}</p>\
           <h1>{event}</h1>\
           <img class=\"static-qr\" alt=\"Static ticket QR code\" data-payload=\"{payload}\" \
                src=\"data:image/svg+xml;base64,{qr}\">\
           <dl class=\"fields\">{fields}</dl>\
           <p class=\"static-banner\">{banner}</p>\
           <p class=\"no-print\"><button id=\"print\" class=\"button\" type=\"button\">Print</button> \
              <a class=\"button secondary\" href=\"{back}\">Back to the ticket</a></p>\
         </section><script type=\"module\" src=\"/my/assets/print.js\"></script>",
        banner = escape(BANNER),
        event = escape(&view.event_name),
        payload = escape(&t.credential),
        qr = STANDARD.encode(svg.as_bytes()),
        back = escape(&back(&id)),
    );
    Ok(html::page(StatusCode::OK, &format!("Printable ticket {}", t.reference), &body))
}
