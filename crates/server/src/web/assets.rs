//! The files under `crates/server/assets/` the buyer's pages use, embedded at compile time
//! (no build step) and served with their content type, `nosniff`, and an ETag so browsers and
//! the service worker revalidate cheaply (`Cache-Control: no-cache`: always ask, usually 304).

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $path:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_bytes!(concat!("../../assets/", $path)) }
    };
}

/// Everything served under `/my/assets/`, plus the files served at fixed paths.
pub static ASSETS: &[Asset] = &[
    asset!("phone.css", "phone/phone.css", "text/css; charset=utf-8"),
    asset!("tickets.html", "phone/tickets.html", "text/html; charset=utf-8"),
    asset!("ticket.html", "phone/ticket.html", "text/html; charset=utf-8"),
    asset!("list.js", "phone/list.js", JS),
    asset!("ticket.js", "phone/ticket.js", JS),
    asset!("device.js", "phone/device.js", JS),
    asset!("presentation.js", "phone/presentation.js", JS),
    asset!("offline.js", "phone/offline.js", JS),
    asset!("print.js", "phone/print.js", JS),
    asset!("icon.svg", "phone/icon.svg", "image/svg+xml"),
    asset!("vendor/qrcode.mjs", "vendor/qrcode-generator/qrcode.mjs", JS),
    asset!("sw.js", "phone/sw.js", JS),
    asset!("manifest.webmanifest", "phone/manifest.webmanifest", "application/manifest+json"),
];

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// A strong ETag per asset, computed once.
fn etag(asset: &'static Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS
        .get_or_init(|| ASSETS.iter().map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.body)[..12]))).collect());
    let i = ASSETS.iter().position(|a| std::ptr::eq(a, asset)).expect("assets come from the table");
    &tags[i]
}

/// Answers with `asset`, or 304 when the browser's copy is current. HTML gets the pages' CSP.
pub fn respond(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let tag = etag(asset);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { (StatusCode::OK, asset.body).into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::ETAG, HeaderValue::from_str(tag).expect("hex is a valid header"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if asset.content_type.starts_with("text/html") {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::html::CSP));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    response
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match find(&file) {
        Some(asset) => respond(asset, &headers),
        None => super::html::message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such file.",
            Some(("/my/tickets", "My tickets")),
        ),
    }
}
