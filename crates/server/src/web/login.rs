//! `GET /my/login/{token}`: the one-time login link from the order confirmation. A fresh link
//! grants its order to this browser's buyer session (a fresh server-chosen one unless the
//! browser holds a session the store knows, so several orders opened in one browser are all
//! visible and a planted cookie is never adopted), sets the `HttpOnly`, `SameSite=Lax`
//! (and `Secure`) session cookie and redirects to the ticket list. A used, expired or unknown link shows a
//! readable page and logs nobody in.

use super::html;
use crate::auth::token_hash;
use crate::buyer::{self, random_token};
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use admit_store::LoginRedemption;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

fn refused(status: StatusCode, title: &str, text: &str) -> Response {
    html::message(status, title, text, Some(("/my/tickets", "My tickets")))
}

fn looks_like_a_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn open(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    match redeem(&state, &token, &headers).await {
        Ok(response) => response,
        Err(e) => {
            let response = e.into_response();
            let status = response.status();
            tracing::warn!(status = status.as_u16(), "a login link could not be opened");
            refused(
                status,
                "Something went wrong",
                "We could not open your tickets just now. Please try the link again.",
            )
        }
    }
}

/// The session the link's order is granted to: the browser's own when the store knows it (it
/// may already hold other orders), otherwise a fresh one the server chose. A cookie value the
/// store has never seen is never adopted, so nobody can plant a session token in a victim's
/// browser and read the victim's tickets with it (session fixation).
async fn session_to_grant(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(held) = buyer::token_from(headers)
        && state.store.buyer_tickets(token_hash(&held)).await?.is_some()
    {
        return Ok(held);
    }
    Ok(random_token(32))
}

async fn redeem(state: &AppState, token: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    if !looks_like_a_token(token) {
        return Ok(refused(
            StatusCode::NOT_FOUND,
            "This login link is not valid",
            "Check that you copied the whole link from your order confirmation.",
        ));
    }
    let session = session_to_grant(state, headers).await?;
    let outcome =
        state.store.redeem_login_link(token_hash(&token.to_ascii_lowercase()), token_hash(&session), now_ms()).await?;
    Ok(match outcome {
        LoginRedemption::Granted { order_id } => {
            tracing::info!(order.id = %order_id, "login link opened");
            let mut response = Redirect::to("/my/tickets").into_response();
            let cookie = buyer::set_cookie(&session, state.settings.secure_cookies);
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            response
        }
        LoginRedemption::AlreadyUsed => refused(
            StatusCode::GONE,
            "This login link was already used",
            "Each link opens your tickets once. If this is your phone, your tickets are under \"My tickets\". \
             Otherwise open your order confirmation again to get a new link.",
        ),
        LoginRedemption::Expired => refused(
            StatusCode::GONE,
            "This login link has expired",
            "Login links work for 24 hours. Open your order confirmation again to get a new link.",
        ),
        LoginRedemption::Unknown => refused(
            StatusCode::NOT_FOUND,
            "This login link is not valid",
            "Check that you copied the whole link from your order confirmation.",
        ),
    })
}
