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
//! Lock order: shards of one grade are locked one at a time without waiting, one with waiting
//! while holding none of that grade, or all in ascending shard order; grades in ascending id
//! order; always after the seats of the same transaction.

use crate::rows::i64_at;
use crate::{StoreError, StoreResult};
use admit_domain::{GradeId, SessionId};
use sqlx::{PgConnection, Row};

/// Shard rows per (session, grade).
pub const SHARDS: i32 = 32;

/// How many fresh looks a claim takes at a busy grade's shards before it locks them all.
const LOOKS: usize = 8;

/// Units a hold took: (grade, shard, quantity).
pub type Claim = (GradeId, i32, i64);

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

/// Counts `n` more held in the grade's quota, from one shard if one has room, else spread
/// over several; `SoldOut` if fewer than `n` units are left in all.
pub async fn take(conn: &mut PgConnection, session: SessionId, grade: GradeId, n: u32) -> StoreResult<Vec<Claim>> {
    let n = i64::from(n);
    let start = (rand::random::<u32>() % SHARDS as u32) as i32;
    let idle: Option<i32> = sqlx::query_scalar(
        "UPDATE inventory_shards SET taken = taken + $1
         WHERE session_id = $2 AND grade_id = $3 AND total - taken >= $1 AND shard = (
             SELECT shard FROM inventory_shards
             WHERE session_id = $2 AND grade_id = $3 AND total - taken >= $1
             ORDER BY (shard + $5 - $4) % $5 LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING shard",
    )
    .bind(n)
    .bind(session.0)
    .bind(grade.0)
    .bind(start)
    .bind(SHARDS)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(shard) = idle {
        return Ok(vec![(grade, shard, n)]);
    }
    // Every shard with room is being written. A fresh committed view of all of them decides:
    // too few units left is a sell-out; else wait for a shard that shows room and take from
    // it if it still has room once its writer committed, or look again.
    for _ in 0..LOOKS {
        let free = free_by_shard(conn, session, grade, false).await?;
        if free.iter().map(|(_, f)| f).sum::<i64>() < n {
            return Err(StoreError::SoldOut);
        }
        let Some((shard, _)) = rotated(&free, start).find(|(_, f)| *f >= n) else { break };
        let claimed = sqlx::query(
            "UPDATE inventory_shards SET taken = taken + $1
             WHERE session_id = $2 AND grade_id = $3 AND shard = $4 AND total - taken >= $1",
        )
        .bind(n)
        .bind(session.0)
        .bind(grade.0)
        .bind(shard)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(vec![(grade, shard, n)]);
        }
    }
    take_spread(conn, session, grade, n, start).await
}

/// The slow path: every shard of the grade locked in shard order, then `n` units from one
/// shard if one fits, else from several.
async fn take_spread(
    conn: &mut PgConnection,
    session: SessionId,
    grade: GradeId,
    n: i64,
    start: i32,
) -> StoreResult<Vec<Claim>> {
    let free = free_by_shard(conn, session, grade, true).await?;
    if free.iter().map(|(_, f)| f).sum::<i64>() < n {
        return Err(StoreError::SoldOut);
    }
    let plan: Vec<(i32, i64)> = match rotated(&free, start).find(|(_, f)| *f >= n) {
        Some((shard, _)) => vec![(shard, n)],
        None => {
            let mut left = n;
            let mut plan = Vec::new();
            for &(shard, f) in free.iter().filter(|(_, f)| *f > 0) {
                let q = f.min(left);
                plan.push((shard, q));
                left -= q;
                if left == 0 {
                    break;
                }
            }
            plan
        }
    };
    sqlx::query(
        "UPDATE inventory_shards s SET taken = s.taken + t.quantity
         FROM UNNEST($3::INTEGER[], $4::BIGINT[]) AS t (shard, quantity)
         WHERE s.session_id = $1 AND s.grade_id = $2 AND s.shard = t.shard",
    )
    .bind(session.0)
    .bind(grade.0)
    .bind(plan.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind(plan.iter().map(|p| p.1).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(plan.into_iter().map(|(shard, q)| (grade, shard, q)).collect())
}

/// Units left per shard, in shard order; `lock` takes every row `FOR UPDATE` (in that order).
async fn free_by_shard(
    conn: &mut PgConnection,
    session: SessionId,
    grade: GradeId,
    lock: bool,
) -> StoreResult<Vec<(i32, i64)>> {
    let sql = format!(
        "SELECT shard, total - taken AS free FROM inventory_shards
         WHERE session_id = $1 AND grade_id = $2 ORDER BY shard{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let rows = sqlx::query(&sql).bind(session.0).bind(grade.0).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((r.try_get::<i32, _>("shard")?, i64_at(r, "free")?))).collect()
}

/// The shards starting at `start`, wrapping around: buyers spread instead of all trying shard 0.
fn rotated(free: &[(i32, i64)], start: i32) -> impl Iterator<Item = (i32, i64)> + '_ {
    let at = free.iter().position(|(s, _)| *s >= start).unwrap_or(0);
    free[at..].iter().chain(&free[..at]).copied()
}

/// Remembers what the hold took from each shard (after its `holds` row exists).
pub async fn record(conn: &mut PgConnection, hold_id: &str, claims: &[Claim]) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO hold_shards (hold_id, grade_id, shard, quantity)
         SELECT $1, c.grade_id, c.shard, SUM(c.quantity)
         FROM UNNEST($2::BIGINT[], $3::INTEGER[], $4::BIGINT[]) AS c (grade_id, shard, quantity)
         GROUP BY c.grade_id, c.shard",
    )
    .bind(hold_id)
    .bind(claims.iter().map(|c| c.0.0).collect::<Vec<_>>())
    .bind(claims.iter().map(|c| c.1).collect::<Vec<_>>())
    .bind(claims.iter().map(|c| c.2).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
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

/// Counts `n` units of the grade sold, on a shard nobody is writing if there is one (else on
/// a random one, waiting for it). The units stay taken on the shards the hold took them from.
pub async fn sell(conn: &mut PgConnection, session: i64, grade: i64, n: i64) -> StoreResult<()> {
    let start = (rand::random::<u32>() % SHARDS as u32) as i32;
    for pick in ["FOR UPDATE SKIP LOCKED", ""] {
        let counted = sqlx::query(&format!(
            "UPDATE inventory_shards SET sold = sold + $1
             WHERE session_id = $2 AND grade_id = $3 AND shard = (
                 SELECT shard FROM inventory_shards WHERE session_id = $2 AND grade_id = $3
                 ORDER BY (shard + $5 - $4) % $5 LIMIT 1 {pick})"
        ))
        .bind(n)
        .bind(session)
        .bind(grade)
        .bind(start)
        .bind(SHARDS)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if counted == 1 {
            return Ok(());
        }
    }
    Err(StoreError::Other(format!("no inventory shard for session {session}, grade {grade}").into()))
}
