//! The organiser's per-event credential policy: whether static (printed, PDF, screenshot-able)
//! credentials admit, how often phones refresh their dynamic QR code, and how far a device
//! proof's time may be from the gate's clock. Shown in the event detail, set with
//! `PUT /events/{id}/credential-policy`.

use crate::auth::StaffUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use admit_domain::{CredentialPolicy, EventId};
use admit_store::StaffRole;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An event's credential policy, as shown and as set (all three fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialPolicyDto {
    /// Whether static credentials (`ADM1:`, printed or PDF tickets, not bound to a phone) admit.
    /// Phone-bound tickets always need a fresh device signature.
    pub static_accepted: bool,
    /// How often the phone shows a new signed code, in seconds (2 to 300).
    #[schema(minimum = 2, maximum = 300)]
    pub rotation_seconds: u32,
    /// How far a device proof's time may be behind or ahead of the gate's clock, in seconds
    /// (at least `rotation_seconds`, at most 600).
    #[schema(minimum = 2, maximum = 600)]
    pub proof_window_seconds: u32,
}

impl From<CredentialPolicy> for CredentialPolicyDto {
    fn from(p: CredentialPolicy) -> Self {
        CredentialPolicyDto {
            static_accepted: p.static_accepted,
            rotation_seconds: p.rotation_seconds,
            proof_window_seconds: p.proof_window_seconds,
        }
    }
}

impl From<CredentialPolicyDto> for CredentialPolicy {
    fn from(p: CredentialPolicyDto) -> Self {
        CredentialPolicy {
            static_accepted: p.static_accepted,
            rotation_seconds: p.rotation_seconds,
            proof_window_seconds: p.proof_window_seconds,
        }
    }
}

#[utoipa::path(put, path = "/events/{event_id}/credential-policy", tag = "gate", request_body = CredentialPolicyDto,
    params(("event_id" = i64, Path)),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The policy now in force (other nodes apply it within seconds)", body = CredentialPolicyDto),
        (status = 401, description = "No or unknown staff token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another organiser's event, or gate staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rotation outside 2 to 300 s, or a window shorter than the rotation or over 600 s", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_credential_policy(
    State(state): State<AppState>,
    staff: StaffUser,
    ApiPath(event_id): ApiPath<i64>,
    ApiJson(input): ApiJson<CredentialPolicyDto>,
) -> Result<Json<CredentialPolicyDto>, ApiError> {
    let event = EventId(event_id);
    staff.require_organiser(state.places.event(state.store.as_ref(), event).await?.organiser_id)?;
    if staff.role != StaffRole::Admin {
        return Err(ApiError::forbidden("Only organiser administrators set the credential policy."));
    }
    let policy = CredentialPolicy::from(input);
    policy.validate().map_err(|e| ApiError::validation(e.to_string()))?;
    state.store.set_credential_policy(event, policy).await?;
    state.places.remember_credential_policy(event, policy);
    Ok(Json(policy.into()))
}
