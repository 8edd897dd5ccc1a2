//! One-time login links for the buyer's phone: `/my/login/{token}` with a random 128-bit
//! token, stored only as its SHA-256, usable once within [`LOGIN_LINK_TTL_MS`].

use crate::auth::token_hash;
use crate::buyer::random_token;
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use admit_store::NewLoginLink;

/// How long a login link may be opened after it was made.
pub const LOGIN_LINK_TTL_MS: i64 = 24 * 3600 * 1000;

/// Makes a fresh link for the order and returns its path.
pub async fn mint(state: &AppState, order_id: &str) -> Result<String, ApiError> {
    let token = random_token(16);
    let now = now_ms();
    state
        .store
        .create_login_link(NewLoginLink {
            token_hash: token_hash(&token),
            order_id: order_id.to_owned(),
            now_ms: now,
            expires_at_ms: now + LOGIN_LINK_TTL_MS,
        })
        .await?;
    Ok(format!("/my/login/{token}"))
}
