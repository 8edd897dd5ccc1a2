//! An event's credential policy (static credentials accepted, QR rotation, proof window),
//! kept as columns on `events`.

use super::sql::{exec, row};
use crate::decode;
use crate::{StoreError, StoreResult};
use admit_domain::{CredentialPolicy, EventId};
use rusqlite::{Connection, params};

pub fn load(c: &Connection, event: EventId) -> StoreResult<CredentialPolicy> {
    let row =
        row(c, "SELECT static_accepted, rotation_seconds, proof_window_seconds FROM events WHERE id = ?", [event.0])?
            .ok_or(StoreError::NotFound("event"))?;
    decode::credential_policy(&row)
}

/// Refuses a policy outside the domain's bounds (`Invalid`) and an unknown event (`NotFound`).
pub fn set(c: &Connection, event: EventId, policy: CredentialPolicy) -> StoreResult<()> {
    policy.validate().map_err(|e| StoreError::Invalid(e.to_string()))?;
    let updated = exec(
        c,
        "UPDATE events SET static_accepted = ?, rotation_seconds = ?, proof_window_seconds = ? WHERE id = ?",
        params![
            policy.static_accepted,
            i64::from(policy.rotation_seconds),
            i64::from(policy.proof_window_seconds),
            event.0
        ],
    )?;
    if updated == 0 {
        return Err(StoreError::NotFound("event"));
    }
    Ok(())
}
