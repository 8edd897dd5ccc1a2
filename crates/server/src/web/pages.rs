//! The ticket list and ticket page shells, the service worker and the web app manifest.
//!
//! The shells are static: their JS loads the tickets live from `/my/api/…` and keeps the last
//! answer on the phone, and the service worker keeps the shells, so an opened ticket shows and
//! still produces its QR code without network. The ticket page's shell is the same for every
//! ticket (the JS reads the id from the address), so one cached copy serves them all offline.

use super::assets::{find, respond};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

fn file(name: &str, headers: &HeaderMap) -> Response {
    respond(find(name).expect("embedded asset"), headers)
}

pub async fn home() -> Redirect {
    Redirect::to("/my/tickets")
}

pub async fn tickets(headers: HeaderMap) -> Response {
    file("tickets.html", &headers)
}

pub async fn ticket(headers: HeaderMap) -> Response {
    file("ticket.html", &headers)
}

/// Served from `/my/` so its scope covers every buyer page.
pub async fn service_worker(headers: HeaderMap) -> Response {
    let mut response = file("sw.js", &headers);
    response.headers_mut().insert("service-worker-allowed", HeaderValue::from_static("/my/"));
    response.into_response()
}

pub async fn manifest(headers: HeaderMap) -> Response {
    file("manifest.webmanifest", &headers)
}
