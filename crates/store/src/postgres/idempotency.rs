//! Idempotency keys: the first outcome of a state-changing request, replayed on retry until
//! the record expires; `purge` deletes expired records.
//!
//! Claiming is `INSERT … ON CONFLICT DO NOTHING`: of two nodes claiming one key at once,
//! exactly one inserts; the other waits for it to commit and then reads the claim under a
//! row lock, so a take-over after the lease (or of an expired record) is also decided by one
//! node only.

use crate::StoreResult;
use crate::decode::{encode_headers, stored_response};
use crate::model::*;
use crate::rows::{Columns, i64_at};
use sqlx::{PgConnection, PgPool};

pub async fn start(conn: &mut PgConnection, claim: &IdempotencyClaim) -> StoreResult<IdempotencyStart> {
    let IdempotencyClaim { scope, key, request_hash: hash, now_ms, lease_ms, expires_at_ms } = claim;
    let (hash, now_ms, lease_ms, expires_at_ms) = (*hash, *now_ms, *lease_ms, *expires_at_ms);
    loop {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_hash, locked_until, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(&hash[..])
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(IdempotencyStart::Proceed { claimed_at_ms: now_ms });
        }
        let row = sqlx::query(
            "SELECT request_hash, status, content_type, location, headers, body, locked_until, created_at, expires_at
             FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        // Released (or purged) between the two statements: claim it again.
        let Some(r) = row else { continue };
        if i64_at(&r, "expires_at")? <= now_ms {
            // Expired and not purged yet: forgotten, so the key is claimed anew.
            sqlx::query(
                "UPDATE idempotency_keys SET request_hash = $1, status = NULL, content_type = NULL, location = NULL,
                     headers = NULL, body = NULL, locked_until = $2, created_at = $3, expires_at = $4
                 WHERE scope = $5 AND key = $6",
            )
            .bind(&hash[..])
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(expires_at_ms)
            .bind(scope)
            .bind(key)
            .execute(&mut *conn)
            .await?;
            return Ok(IdempotencyStart::Proceed { claimed_at_ms: now_ms });
        }
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
        sqlx::query("UPDATE idempotency_keys SET locked_until = $1 WHERE scope = $2 AND key = $3")
            .bind(now_ms + lease_ms)
            .bind(scope)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        return Ok(IdempotencyStart::Proceed { claimed_at_ms: i64_at(&r, "created_at")? });
    }
}

pub async fn finish(pool: &PgPool, scope: &str, key: &str, response: &StoredResponse) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $1, content_type = $2, location = $3, headers = $4, body = $5
         WHERE scope = $6 AND key = $7",
    )
    .bind(i64::from(response.status))
    .bind(&response.content_type)
    .bind(&response.location)
    .bind(encode_headers(&response.headers))
    .bind(&response.body)
    .bind(scope)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn release(pool: &PgPool, scope: &str, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL")
        .bind(scope)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes every record that expired by `now_ms`; returns how many.
pub async fn purge(pool: &PgPool, now_ms: i64) -> StoreResult<u64> {
    let deleted = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1").bind(now_ms).execute(pool).await?;
    Ok(deleted.rows_affected())
}
