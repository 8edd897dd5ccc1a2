//! Spread counters (DESIGN §7): each (session, grade) quota lives in [`SHARDS`] rows of
//! `inventory_shards`, so concurrent holds and sales of one grade lock different rows instead
//! of queueing on one row across every durable commit. The `inventory` view sums them.
//!
//! A shard's `taken` counts its units held or sold. A claim takes all its units from one
//! shard when it can: first a shard nobody is writing (`SKIP LOCKED`, from a random start),
//! then, under contention, any shard a fresh read shows room in (waiting for its lock, the
//! guard re-checked). Only when no single shard fits does it lock every shard of the grade in
//! shard order and spread the units over several, so units scattered over shards never make a
//! false "sold out". `hold_shards` remembers what each hold took from which shard; a cancel or
//! expiry gives exactly those back. A sale leaves what is free unchanged, so it only counts
//! `sold` on any shard of the grade nobody is writing: per grade, held = taken - sold.
//!
//! Claims and sales run inside the server, in `admit_take_units` and `admit_complete_order`
//! (migration 0009), one statement per hold or order; this module creates the rows and gives
//! released units back.
//!
//! Lock order: shards of one grade are locked one at a time without waiting, one with waiting
//! while holding none of that grade, or all in ascending shard order; grades in ascending id
//! order; always after the seats of the same transaction.

use crate::StoreResult;
use crate::rows::i64_at;
use sqlx::{PgConnection, Row};

/// Shard rows per (session, grade).
pub const SHARDS: i32 = 32;

/// Creates the shard rows of one session's grades, each quota dealt out evenly.
pub async fn insert(conn: &mut PgConnection, session: i64, grades: &[i64], totals: &[i64]) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO inventory_shards (session_id, grade_id, shard, total)
         SELECT $1, g.grade_id, k, g.total / $4 + CASE WHEN k < g.total % $4 THEN 1 ELSE 0 END
         FROM UNNEST($2::BIGINT[], $3::BIGINT[]) AS g (grade_id, total) CROSS JOIN generate_series(0, $4 - 1) AS k",
    )
    .bind(session)
    .bind(grades)
    .bind(totals)
    .bind(SHARDS)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A random shard to start looking from (claims and sales rotate from it, so buyers spread
/// instead of all trying shard 0).
pub fn start() -> i32 {
    (rand::random::<u32>() % SHARDS as u32) as i32
}

/// Gives the units the holds took back to the shards they came from, one shard row at a
/// time in (grade, shard) order.
pub async fn release(conn: &mut PgConnection, holds: &[&str]) -> StoreResult<()> {
    let taken = sqlx::query(
        "SELECT h.session_id, s.grade_id, s.shard, CAST(SUM(s.quantity) AS BIGINT) AS quantity
         FROM hold_shards s JOIN holds h ON h.id = s.hold_id WHERE s.hold_id = ANY($1)
         GROUP BY h.session_id, s.grade_id, s.shard ORDER BY s.grade_id, s.shard, h.session_id",
    )
    .bind(holds)
    .fetch_all(&mut *conn)
    .await?;
    for r in &taken {
        sqlx::query(
            "UPDATE inventory_shards SET taken = taken - $1 WHERE session_id = $2 AND grade_id = $3 AND shard = $4",
        )
        .bind(i64_at(r, "quantity")?)
        .bind(i64_at(r, "session_id")?)
        .bind(i64_at(r, "grade_id")?)
        .bind(r.try_get::<i32, _>("shard")?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
