//! The browser gate page for staff phones and tablets (`GET /gate`) and its assets, embedded
//! in the binary: no build step, nothing to deploy beside `admit`.
//!
//! The page signs in with a staff token (kept in the browser's localStorage, never in a URL),
//! lists gates and sessions from `GET /gate/places`, reads codes from the camera
//! (BarcodeDetector where the browser has it, the bundled jsQR decoder otherwise) or from a
//! text field (keyboard-wedge scanners), and asks `POST /gate/scans` for every verdict: it
//! never decides anything itself. HTML pages are not part of the OpenAPI document.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One embedded file: its URL name, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

static PAGE: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("../../assets/gate/index.html"),
};

/// Served under `/gate/assets/{name}`.
static ASSETS: &[Asset] = &[
    Asset { name: "gate.js", content_type: JS, body: include_bytes!("../../assets/gate/gate.js") },
    Asset { name: "camera.js", content_type: JS, body: include_bytes!("../../assets/gate/camera.js") },
    Asset {
        name: "gate.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/gate/gate.css"),
    },
    // Vendored by scripts/vendor-js-gate (npm jsqr, pinned and checked by sha256).
    Asset { name: "jsQR.js", content_type: JS, body: include_bytes!("../../assets/vendor/jsQR.js") },
    Asset {
        name: "jsQR-LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../../assets/vendor/jsQR-LICENSE.txt"),
    },
];

/// The page may use the camera and talk to this origin only; nothing inline, no framing.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                           media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; \
                           base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Strong validators by content hash, computed once: browsers revalidate (`no-cache`) and get
/// a 304 until the binary changes, so a new release reaches every phone at once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::iter::once(&PAGE)
        .chain(ASSETS)
        .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.body)[..12])))
        .collect()
});

pub fn routes() -> Router<AppState> {
    Router::new().route("/gate", get(page)).route("/gate/assets/{name}", get(asset))
}

async fn page(headers: HeaderMap) -> Response {
    let mut response = serve(&PAGE, &ETAGS[0], &headers);
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"));
    response
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => serve(&ASSETS[i], &ETAGS[i + 1], &headers),
        None => ApiError::not_found("gate page asset").into_response(),
    }
}

fn serve(asset: &'static Asset, etag: &str, request: &HeaderMap) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\""))),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, asset.body).into_response()
}
