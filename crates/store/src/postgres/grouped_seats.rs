//! Best-available holds in groups (`group_commit.rs`): one transaction picks seats for every
//! queued request of a grade, in arrival order, taking the pickers' turn (the advisory lock of
//! `holds.rs`) once per grade instead of once per hold.
//!
//! Picking is the one-item picker's, with the group's own picks counted as taken: the rows
//! that still have a free seat are read best first, once per group, and each request gets the
//! first row's window of adjacent free seats. All the picked seats are then claimed with one
//! guarded update (`state = 'free'`); if an explicit-seat buyer took one meanwhile, the whole
//! group runs again from a fresh read. A request with no window of adjacent seats left (the
//! scattered fallback, sold out), or with anything to refuse, runs alone after the group, so
//! the one-item path decides it exactly as before.

use super::grouped::{hold_alone, read_alone};
use super::holds::{self, Line, Rows};
use super::retry::{contended, retrying};
use crate::StoreResult;
use crate::model::*;
use crate::rules::check_quantity;
use admit_domain::{GradeId, SeatingMode, SessionId};
use sqlx::PgPool;
use std::collections::BTreeMap;

/// Holds seats for each best-available request, answering each with its hold or its error.
pub async fn hold_best(pool: &PgPool, requests: Vec<NewHold>) -> Vec<StoreResult<Hold>> {
    if requests.len() == 1 {
        return vec![hold_alone(pool, &requests[0]).await];
    }
    let made = match retrying!("group of best-available holds", pick_group(pool, &requests)) {
        Ok(made) => made,
        Err(e) => {
            tracing::debug!(error = %e, requests = requests.len(), "a group of best-available holds failed; one by one");
            vec![false; requests.len()]
        }
    };
    let ids: Vec<String> = requests.iter().zip(&made).filter(|(_, m)| **m).map(|(r, _)| r.id.clone()).collect();
    let mut loaded = match pool.acquire().await {
        Ok(mut conn) => holds::load_many(&mut conn, &ids).await.unwrap_or_default(),
        Err(_) => Default::default(),
    };
    let mut answers = Vec::with_capacity(requests.len());
    for (request, made) in requests.iter().zip(made) {
        answers.push(match (made, loaded.remove(&request.id)) {
            (true, Some(hold)) => Ok(hold),
            (true, None) => read_alone(pool, &request.id).await,
            (false, _) => hold_alone(pool, request).await,
        });
    }
    answers
}

/// One transaction: per request, whether its hold was made here.
async fn pick_group(pool: &PgPool, requests: &[NewHold]) -> StoreResult<Vec<bool>> {
    // Grades ascending (then sessions), as every path takes locks; arrival order within.
    let mut by_grade: BTreeMap<(GradeId, SessionId), Vec<usize>> = BTreeMap::new();
    for (i, r) in requests.iter().enumerate() {
        if let HoldRequest::BestAvailable { grade, quantity, .. } = r.request
            && check_quantity(quantity).is_ok()
        {
            by_grade.entry((grade, r.session_id)).or_default().push(i);
        }
    }
    let mut tx = pool.begin().await?;
    let mut picks: Vec<(usize, Vec<Line>, String)> = Vec::new();
    for (&(grade, session), waiting) in &by_grade {
        let (Ok(price), Ok(currency)) = (
            holds::grade_for(&mut tx, session, grade, SeatingMode::Reserved).await,
            holds::currency(&mut tx, session).await,
        ) else {
            continue; // refused: the one-item path says why
        };
        holds::take_pickers_turn(&mut tx, session, grade).await?;
        let mut rows = Rows::default();
        for &i in waiting {
            let HoldRequest::BestAvailable { quantity, .. } = requests[i].request else { continue };
            if let Some(seats) = rows.pick(&mut tx, session, grade, quantity as usize).await? {
                let lines = seats.into_iter().map(|s| (grade, Some(s), 1, price)).collect();
                picks.push((i, lines, currency.clone()));
            }
        }
    }
    let seats: Vec<i64> =
        picks.iter().flat_map(|(_, lines, _)| lines.iter().filter_map(|l| l.1.map(|s| s.0))).collect();
    let owners: Vec<&str> =
        picks.iter().flat_map(|(i, lines, _)| lines.iter().map(|_| requests[*i].id.as_str())).collect();
    let claimed = sqlx::query(
        "UPDATE seats s SET state = 'held', hold_id = c.hold_id
         FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS c (seat_id, hold_id)
         WHERE s.id = c.seat_id AND s.state = 'free'",
    )
    .bind(&seats)
    .bind(&owners)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed != seats.len() as u64 {
        return Err(contended()); // an explicit-seat buyer took one meanwhile: pick again
    }
    for (i, lines, currency) in &picks {
        holds::insert(&mut tx, &requests[*i], currency, lines).await?;
    }
    tx.commit().await?;
    let mut made = vec![false; requests.len()];
    for (i, _, _) in &picks {
        made[*i] = true;
    }
    Ok(made)
}
