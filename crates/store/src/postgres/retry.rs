//! Transactions that run again when PostgreSQL aborts them for a reason a retry fixes:
//! a serialization failure (40001), a deadlock (40P01), or a guarded claim that found a row
//! taken after it was read ([`Contended`]). `transaction!` wraps several statements in
//! BEGIN/COMMIT; `statement!` runs a body that is one statement (PostgreSQL's own implicit
//! transaction), saving those two round trips.

use crate::StoreError;
use std::time::Duration;

/// How many times a transaction runs before its last error is returned.
pub const MAX_ATTEMPTS: u32 = 12;

/// A guarded claim touched fewer rows than it read as free: another node won the race.
/// Raised inside a transaction to roll it back and run it again from a fresh read.
#[derive(Debug, thiserror::Error)]
#[error("a row was claimed by another transaction; retrying")]
pub struct Contended;

pub fn contended() -> StoreError {
    StoreError::Other(Box::new(Contended))
}

/// True when `e` is worth running the whole transaction again.
pub fn is_transient(e: &StoreError) -> bool {
    let StoreError::Other(source) = e else { return false };
    if source.is::<Contended>() {
        return true;
    }
    let code = source.downcast_ref::<sqlx::Error>().and_then(|e| e.as_database_error()).and_then(|d| d.code());
    matches!(code.as_deref(), Some("40001" | "40P01"))
}

/// Waits a little before attempt `attempt` (1-based), growing and jittered so that the
/// transactions that collided do not collide again.
pub async fn pause(attempt: u32) {
    let ceiling_us = 500u64 << attempt.min(6);
    tokio::time::sleep(Duration::from_micros(rand::random::<u64>() % ceiling_us)).await;
}

/// Awaits `$attempt` (an `async` block, made afresh for each try) and runs it again, up to
/// [`MAX_ATTEMPTS`] in all, while it fails with a transient error; `$what` names it in the log.
macro_rules! retrying {
    ($what:literal, $attempt:expr) => {{
        let mut attempt: u32 = 1;
        loop {
            let result: $crate::StoreResult<_> = $attempt.await;
            match result {
                Err(e) if attempt < $crate::postgres::retry::MAX_ATTEMPTS && $crate::postgres::retry::is_transient(&e) => {
                    tracing::debug!(attempt, error = %e, concat!("retrying a PostgreSQL ", $what));
                    $crate::postgres::retry::pause(attempt).await;
                    attempt += 1;
                }
                other => break other,
            }
        }
    }};
}

/// Runs `$body` with `$conn: &mut PgConnection` inside a transaction on `$pool`, commits on
/// `Ok`, and runs everything again on a transient error (`retrying!`). `?` inside the body
/// rolls the transaction back.
macro_rules! transaction {
    ($pool:expr, |$conn:ident| $body:expr) => {
        $crate::postgres::retry::retrying!("transaction", async {
            let mut tx = $pool.begin().await?;
            let value = {
                let $conn: &mut sqlx::PgConnection = &mut tx;
                $body
            };
            tx.commit().await?;
            Ok(value)
        })
    };
}

/// Runs `$body` with `$conn: &mut PgConnection` (taken from `$on`, a `&mut PgConnection`)
/// without BEGIN/COMMIT, and again on a transient error (`retrying!`). For bodies that are
/// one statement, which PostgreSQL runs as a transaction of its own: one round trip instead
/// of three.
macro_rules! statement {
    ($on:expr, |$conn:ident| $body:expr) => {{
        let on: &mut sqlx::PgConnection = $on;
        $crate::postgres::retry::retrying!("statement", async {
            let $conn: &mut sqlx::PgConnection = &mut *on;
            Ok($body)
        })
    }};
}

pub(crate) use {retrying, statement, transaction};
