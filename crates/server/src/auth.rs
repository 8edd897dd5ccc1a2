//! Staff authentication: `Authorization: Bearer <token>`; tokens are stored only as SHA-256.
//!
//! A token found in the store is remembered for [`STAFF_TOKEN_TTL`], so a busy gate does not
//! read the database on every scan. The consequence: a token deleted or changed in the store
//! keeps working on each node for up to that long (the revocation delay).

use crate::error::ApiError;
use crate::state::AppState;
use admit_domain::OrganiserId;
use admit_store::{StaffRole, Store};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use quick_cache::sync::Cache;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long a token found in the store is trusted without asking again: the longest a
/// revoked token keeps working on a node.
pub const STAFF_TOKEN_TTL: Duration = Duration::from_secs(2);

/// An authenticated staff member of one organiser.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub organiser_id: OrganiserId,
    pub role: StaffRole,
}

impl StaffUser {
    /// Staff may only act on their own organiser's data (invariant 7).
    pub fn require_organiser(&self, owner: OrganiserId) -> Result<(), ApiError> {
        if self.organiser_id != owner {
            return Err(ApiError::forbidden("This belongs to another organiser."));
        }
        Ok(())
    }
}

/// Recently seen staff tokens by hash, each with when it was read from the store. Unknown
/// tokens are not remembered: a token issued a moment ago must work at once.
pub struct StaffTokens(Cache<[u8; 32], (StaffUser, Instant)>);

impl Default for StaffTokens {
    fn default() -> Self {
        StaffTokens(Cache::new(10_000))
    }
}

impl StaffTokens {
    /// The staff member holding the token with this hash, from memory when read recently.
    pub async fn find(&self, store: &dyn Store, hash: [u8; 32]) -> Result<Option<StaffUser>, admit_store::StoreError> {
        if let Some((user, read_at)) = self.0.get(&hash)
            && read_at.elapsed() < STAFF_TOKEN_TTL
        {
            return Ok(Some(user));
        }
        let Some(staff) = store.staff_by_token(hash).await? else {
            self.0.remove(&hash);
            return Ok(None);
        };
        let user = StaffUser { organiser_id: staff.organiser_id, role: staff.role };
        self.0.insert(hash, (user.clone(), Instant::now()));
        Ok(Some(user))
    }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates a new random staff token for `organiser` and returns it (shown once).
pub async fn issue_staff_token(
    store: &dyn Store,
    organiser: OrganiserId,
    role: StaffRole,
    label: &str,
) -> Result<String, admit_store::StoreError> {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("admit_{}_{}", role.as_str(), hex::encode(bytes));
    store.add_staff_token(organiser, role, token_hash(&token), label).await?;
    Ok(token)
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is matched without
/// regard to case (RFC 9110 §11.1: `bearer` and `BEARER` are `Bearer`); `missing` is the
/// detail when there is no header at all.
pub fn bearer_token<'a>(parts: &'a Parts, missing: &'static str) -> Result<&'a str, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| ApiError::unauthorized(missing))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthorized("The Authorization header must be `Bearer <token>`."))
}

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts, "Send a staff token as `Authorization: Bearer <token>`.")?;
        state
            .staff_tokens
            .find(state.store.as_ref(), token_hash(token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("Unknown staff token."))
    }
}
