//! Staff authentication: `Authorization: Bearer <token>`; tokens are stored only as SHA-256.

use crate::error::ApiError;
use crate::state::AppState;
use admit_domain::OrganiserId;
use admit_store::{StaffRole, Store};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

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

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("Send a staff token as `Authorization: Bearer <token>`."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("The Authorization header must be `Bearer <token>`."))?;
        let staff = state
            .store
            .staff_by_token(token_hash(token.trim()))
            .await?
            .ok_or_else(|| ApiError::unauthorized("Unknown staff token."))?;
        Ok(StaffUser { organiser_id: staff.organiser_id, role: staff.role })
    }
}
