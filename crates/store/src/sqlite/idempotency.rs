//! Idempotency keys: the first outcome of a state-changing request, replayed on retry.

use super::sql::{exec, row};
use crate::StoreResult;
use crate::decode::stored_response;
use crate::model::*;
use crate::rows::{Columns, i64_at};
use rusqlite::{Connection, params};

pub fn start(
    c: &Connection,
    scope: &str,
    key: &str,
    hash: [u8; 32],
    now_ms: i64,
    lease_ms: i64,
) -> StoreResult<IdempotencyStart> {
    let found = row(
        c,
        "SELECT request_hash, status, content_type, location, body, locked_until FROM idempotency_keys WHERE scope = ? AND key = ?",
        [scope, key],
    )?;
    let Some(r) = found else {
        exec(
            c,
            "INSERT INTO idempotency_keys (scope, key, request_hash, locked_until, created_at) VALUES (?, ?, ?, ?, ?)",
            params![scope, key, &hash[..], now_ms + lease_ms, now_ms],
        )?;
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
    exec(
        c,
        "UPDATE idempotency_keys SET locked_until = ? WHERE scope = ? AND key = ?",
        params![now_ms + lease_ms, scope, key],
    )?;
    Ok(IdempotencyStart::Proceed)
}

pub fn finish(c: &Connection, scope: &str, key: &str, response: &StoredResponse) -> StoreResult<()> {
    exec(
        c,
        "UPDATE idempotency_keys SET status = ?, content_type = ?, location = ?, body = ? WHERE scope = ? AND key = ?",
        params![i64::from(response.status), response.content_type, response.location, response.body, scope, key],
    )?;
    Ok(())
}

pub fn release(c: &Connection, scope: &str, key: &str) -> StoreResult<()> {
    exec(c, "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status IS NULL", [scope, key])?;
    Ok(())
}
