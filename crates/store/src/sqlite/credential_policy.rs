//! An event's credential policy (static credentials accepted, QR rotation, proof window),
//! kept as columns on `events`.

use crate::decode;
use crate::{StoreError, StoreResult};
use admit_domain::{CredentialPolicy, EventId};
use sqlx::SqliteConnection;

pub async fn load(conn: &mut SqliteConnection, event: EventId) -> StoreResult<CredentialPolicy> {
    let row = sqlx::query("SELECT static_accepted, rotation_seconds, proof_window_seconds FROM events WHERE id = ?")
        .bind(event.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("event"))?;
    decode::credential_policy(&row)
}

/// Refuses a policy outside the domain's bounds (`Invalid`) and an unknown event (`NotFound`).
pub async fn set(conn: &mut SqliteConnection, event: EventId, policy: CredentialPolicy) -> StoreResult<()> {
    policy.validate().map_err(|e| StoreError::Invalid(e.to_string()))?;
    let updated = sqlx::query(
        "UPDATE events SET static_accepted = ?, rotation_seconds = ?, proof_window_seconds = ? WHERE id = ?",
    )
    .bind(policy.static_accepted)
    .bind(i64::from(policy.rotation_seconds))
    .bind(i64::from(policy.proof_window_seconds))
    .bind(event.0)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound("event"));
    }
    Ok(())
}
