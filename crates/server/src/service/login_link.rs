//! One-time login links for the buyer's phone: `/my/login/{token}` with a random 128-bit
//! token, stored only as its SHA-256, usable once within [`LOGIN_LINK_TTL_MS`].

use crate::auth::token_hash;
use crate::buyer::random_token;
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use admit_store::OrderLoginLink;

/// How long a login link may be opened after it was made.
pub const LOGIN_LINK_TTL_MS: i64 = 24 * 3600 * 1000;

/// A fresh link not stored yet: its path, and what the store keeps of it.
pub fn fresh() -> (String, OrderLoginLink) {
    let token = random_token(16);
    let link = OrderLoginLink { token_hash: token_hash(&token), expires_at_ms: now_ms() + LOGIN_LINK_TTL_MS };
    (format!("/my/login/{token}"), link)
}

/// Makes a fresh link for the order and returns its path.
pub async fn mint(state: &AppState, order_id: &str) -> Result<String, ApiError> {
    let (path, link) = fresh();
    state.store.create_login_link(link.for_order(order_id, now_ms())).await?;
    Ok(path)
}
