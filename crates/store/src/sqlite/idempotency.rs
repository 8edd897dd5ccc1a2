//! Idempotency keys: the first outcome of a state-changing request, replayed on retry.

use crate::StoreResult;
use crate::decode::stored_response;
use crate::model::*;
use crate::rows::{Columns, i64_at};
use sqlx::SqliteConnection;

pub async fn start(
    conn: &mut SqliteConnection,
    scope: &str,
    key: &str,
    hash: [u8; 32],
    now_ms: i64,
    lease_ms: i64,
) -> StoreResult<IdempotencyStart> {
    let row = sqlx::query("SELECT request_hash, status, content_type, location, body, locked_until FROM idempotency_keys WHERE scope = ? AND key = ?")
        .bind(scope)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else {
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_hash, locked_until, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(scope)
        .bind(key)
        .bind(&hash[..])
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
        return Ok(IdempotencyStart::Proceed);
    };
    if r.bytes_col("request_hash")? != hash {
        return Ok(IdempotencyStart::KeyReused);
    }
    if let Some(response) = stored_response(&r)? {
        return Ok(IdempotencyStart::Replay(response));
    }
    if i64_at(&r, "locked_until")? > now_ms {
        return Ok(IdempotencyStart::InProgress);
    }
    // The request that claimed this key died without an answer: take the claim over.
    sqlx::query("UPDATE idempotency_keys SET locked_until = ? WHERE scope = ? AND key = ?")
        .bind(now_ms + lease_ms)
        .bind(scope)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(IdempotencyStart::Proceed)
}

pub async fn finish(conn: &mut SqliteConnection, scope: &str, key: &str, response: &StoredResponse) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = ?, content_type = ?, location = ?, body = ? WHERE scope = ? AND key = ?",
    )
    .bind(i64::from(response.status))
    .bind(&response.content_type)
    .bind(&response.location)
    .bind(&response.body)
    .bind(scope)
    .bind(key)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn release(conn: &mut SqliteConnection, scope: &str, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status IS NULL")
        .bind(scope)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}
