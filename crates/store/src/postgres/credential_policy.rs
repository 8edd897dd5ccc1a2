//! An event's credential policy (static credentials accepted, QR rotation, proof window),
//! kept as columns on `events`.

use crate::decode;
use crate::{StoreError, StoreResult};
use admit_domain::{CredentialPolicy, EventId};
use sqlx::PgConnection;

pub async fn load(conn: &mut PgConnection, event: EventId) -> StoreResult<CredentialPolicy> {
    let row = sqlx::query("SELECT static_accepted, rotation_seconds, proof_window_seconds FROM events WHERE id = $1")
        .bind(event.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("event"))?;
    decode::credential_policy(&row)
}

/// Refuses a policy outside the domain's bounds (`Invalid`) and an unknown event (`NotFound`).
pub async fn set(conn: &mut PgConnection, event: EventId, policy: CredentialPolicy) -> StoreResult<()> {
    policy.validate().map_err(|e| StoreError::Invalid(e.to_string()))?;
    let updated = sqlx::query(
        "UPDATE events SET static_accepted = $1, rotation_seconds = $2, proof_window_seconds = $3 WHERE id = $4",
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
