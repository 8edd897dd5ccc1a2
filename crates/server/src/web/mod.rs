//! The buyer's web pages (mobile-first HTML, small vanilla JS modules, no build step), served
//! under `/my`. Pages are not part of the OpenAPI document; the JSON they call (`/my/api/…`)
//! is. One module per page group:
//! - `login`: the one-time login link that sets the buyer-session cookie;
//! - `pages`: the ticket list and ticket page shells (their JS loads the tickets live), the
//!   service worker and the web app manifest that make them work offline;
//! - `print`: the printable static ticket;
//! - `problems`: `/problems/{type}`, the page each problem+json `type` resolves to;
//! - `assets`: every file under `crates/server/assets/` the pages use, embedded in the binary.

mod assets;
pub mod html;
mod login;
mod pages;
mod print;
mod problems;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/my", get(pages::home))
        .route("/my/login/{token}", get(login::open))
        .route("/my/tickets", get(pages::tickets))
        .route("/my/tickets/{ticket_id}", get(pages::ticket))
        .route("/my/tickets/{ticket_id}/print", get(print::page))
        .route("/my/sw.js", get(pages::service_worker))
        .route("/my/manifest.webmanifest", get(pages::manifest))
        .route("/my/assets/{*file}", get(assets::serve))
        .route("/problems/{slug}", get(problems::page))
}
