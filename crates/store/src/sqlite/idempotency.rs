//! Idempotency keys: the first outcome of a state-changing request, replayed on retry until
//! the record expires; `purge` deletes expired records.

use super::sql::{exec, row};
use crate::StoreResult;
use crate::decode::{encode_headers, stored_response};
use crate::model::*;
use crate::rows::{Columns, i64_at};
use rusqlite::{Connection, params};

/// Claims a fresh key, or one whose record expired (it is forgotten and claimed anew).
const CLAIM: &str = "INSERT INTO idempotency_keys (scope, key, request_hash, locked_until, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = NULL,
         content_type = NULL, location = NULL, headers = NULL, body = NULL,
         locked_until = excluded.locked_until, created_at = excluded.created_at, expires_at = excluded.expires_at";

pub fn start(c: &Connection, claim: &IdempotencyClaim) -> StoreResult<IdempotencyStart> {
    let IdempotencyClaim { scope, key, request_hash: hash, now_ms, lease_ms, expires_at_ms } = claim;
    let (hash, now_ms, lease_ms, expires_at_ms) = (*hash, *now_ms, *lease_ms, *expires_at_ms);
    let found = row(
        c,
        "SELECT request_hash, status, content_type, location, headers, body, locked_until, created_at
         FROM idempotency_keys WHERE scope = ? AND key = ? AND expires_at > ?",
        params![scope, key, now_ms],
    )?;
    let Some(r) = found else {
        exec(c, CLAIM, params![scope, key, &hash[..], now_ms + lease_ms, now_ms, expires_at_ms])?;
        return Ok(IdempotencyStart::Proceed { claimed_at_ms: now_ms });
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
    Ok(IdempotencyStart::Proceed { claimed_at_ms: i64_at(&r, "created_at")? })
}

pub fn finish(c: &Connection, scope: &str, key: &str, response: &StoredResponse) -> StoreResult<()> {
    exec(
        c,
        "UPDATE idempotency_keys SET status = ?, content_type = ?, location = ?, headers = ?, body = ?
         WHERE scope = ? AND key = ?",
        params![
            i64::from(response.status),
            response.content_type,
            response.location,
            encode_headers(&response.headers),
            response.body,
            scope,
            key
        ],
    )?;
    Ok(())
}

pub fn release(c: &Connection, scope: &str, key: &str) -> StoreResult<()> {
    exec(c, "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status IS NULL", [scope, key])?;
    Ok(())
}

/// Deletes every record that expired by `now_ms`; returns how many.
pub fn purge(c: &Connection, now_ms: i64) -> StoreResult<u64> {
    Ok(exec(c, "DELETE FROM idempotency_keys WHERE expires_at <= ?", [now_ms])? as u64)
}
