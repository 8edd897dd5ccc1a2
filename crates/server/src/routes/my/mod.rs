//! The buyer's phone API (`/my/api/…`), authenticated by the buyer-session cookie set when a
//! one-time login link is opened: the session's tickets loaded live, device registration and
//! the "Check" inspection. A ticket of an order the session does not hold is a 404, exactly
//! like a ticket that does not exist.

pub mod device;
pub mod dto;
pub mod inspection;
pub mod tickets;

use crate::error::ApiError;
use crate::state::AppState;
use admit_domain::{CredentialPolicy, EventId, TicketId};

/// A ticket id from the path; anything but a positive 63-bit number is no such ticket.
pub fn ticket_id(raw: &str) -> Result<TicketId, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).map(TicketId).ok_or_else(|| ApiError::not_found("ticket"))
}

/// The event's credential policy (from the place cache: at most a few seconds old).
pub async fn policy(state: &AppState, event: EventId) -> Result<CredentialPolicy, ApiError> {
    Ok(state.places.credential_policy(state.store.as_ref(), event).await?)
}
