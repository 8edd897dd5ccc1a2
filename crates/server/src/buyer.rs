//! Buyer sessions on the phone: an `HttpOnly`, `SameSite=Lax`, `Secure` (off plain localhost)
//! cookie holding a random 256-bit
//! token, stored only as its SHA-256. Opening a one-time login link grants an order to the
//! session; a session may hold many orders (several links opened in one browser).

use crate::auth::token_hash;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use rand::RngCore;
use std::time::Duration;

/// The cookie's name; scoped to `/my`, the buyer's pages and their API.
pub const COOKIE: &str = "admit_buyer";
/// How long a browser keeps the session: a season of events.
pub const COOKIE_MAX_AGE_SECS: u64 = 400 * 24 * 3600;

/// A random token, hex: for login links (128 bits) and sessions (256 bits).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// The `Set-Cookie` value that gives the browser this session (`Secure` when `secure`).
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    crate::cookie::private(COOKIE, token, "/my", Duration::from_secs(COOKIE_MAX_AGE_SECS), secure)
}

/// The session token the browser sent, if it looks like one of ours.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    crate::cookie::value(headers, COOKIE).filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A request from a browser carrying a buyer-session cookie. Whether the session exists (and
/// what it holds) is the store's answer to each query: an unknown cookie sees nothing.
#[derive(Debug, Clone, Copy)]
pub struct BuyerSession {
    /// SHA-256 of the cookie's token.
    pub hash: [u8; 32],
}

impl FromRequestParts<AppState> for BuyerSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        token_from(&parts.headers).map(|t| BuyerSession { hash: token_hash(&t) }).ok_or_else(|| {
            ApiError::unauthorized("Open the login link from your order confirmation to see your tickets here.")
        })
    }
}
