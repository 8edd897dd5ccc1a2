//! SQLite-only: what the group-commit writer promises at the level of store operations. Many
//! concurrent writes share transactions, yet each one is all or nothing on its own, and none is
//! acknowledged before it is committed.

use crate::conformance::fixtures::{T0, World};
use crate::conformance::support::{availability_of, hold_seats, hold_units, seat_states};
use admit_store::{SeatState, SqliteStore, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::sync::Arc;

async fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.path().join("admit.db")).await.expect("open SQLite store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_holds_commit_together_except_the_one_that_fails_which_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let w = World::builder().r(4, 10).build(&*store).await;
    let seats = w.seats_of(&*store, w.session(), w.r.id).await;
    let taken = seats[0].id;
    let innocent = seats[1].id;
    hold_seats(&*store, w.session(), &[taken], T0).await.unwrap();
    let before = store.write_stats();

    // 38 buyers of one free seat each, and one whose request includes the taken seat.
    let mut buyers: Vec<_> = seats[2..]
        .iter()
        .map(|s| {
            let (store, seat, session) = (store.clone(), s.id, w.session());
            tokio::spawn(async move { hold_seats(&*store, session, &[seat], T0).await.map(drop) })
        })
        .collect();
    let (unlucky_store, session) = (store.clone(), w.session());
    buyers.insert(
        19,
        tokio::spawn(async move { hold_seats(&*unlucky_store, session, &[innocent, taken], T0).await.map(drop) }),
    );
    let mut answers = Vec::new();
    for b in buyers {
        answers.push(b.await.unwrap());
    }

    let after = store.write_stats();
    assert_eq!(after.ops - before.ops, 39);
    assert!(after.batches - before.batches < 39, "concurrent writes shared transactions: {before:?} → {after:?}");
    for (i, answer) in answers.iter().enumerate() {
        match i {
            19 => assert!(matches!(answer, Err(StoreError::SoldOut)), "the unlucky buyer got {answer:?}"),
            _ => assert!(answer.is_ok(), "buyer {i} got {answer:?}"),
        }
    }
    let states = seat_states(&*store, w.session()).await;
    assert_eq!(states[&innocent], SeatState::Free, "the failed hold left its free seat free");
    assert_eq!(states.values().filter(|s| **s == SeatState::Held).count(), 39);
    assert_eq!(availability_of(&*store, w.session(), w.r.id).await.held, 39);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_is_visible_to_a_read_only_connection_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let w = World::builder().ga_quota(400).build(&*store).await;
    let outsider = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(SqliteConnectOptions::new().filename(dir.path().join("admit.db")).read_only(true))
        .await
        .unwrap();

    let buyers: Vec<_> = (0..300)
        .map(|_| {
            let (store, outsider, session, grade) = (store.clone(), outsider.clone(), w.session(), w.ga.id);
            tokio::spawn(async move {
                let hold = hold_units(&*store, session, grade, 1).await.unwrap();
                // Straight after the answer, another connection must already see the hold.
                let seen: Option<String> = sqlx::query_scalar("SELECT state FROM holds WHERE id = ?")
                    .bind(&hold.id)
                    .fetch_optional(&outsider)
                    .await
                    .unwrap();
                (hold.id, seen)
            })
        })
        .collect();

    let mut unseen = Vec::new();
    for b in buyers {
        let (id, seen) = b.await.unwrap();
        if seen.as_deref() != Some("active") {
            unseen.push(id);
        }
    }
    assert!(unseen.is_empty(), "{} acknowledged holds were not yet committed: {unseen:?}", unseen.len());
    assert_eq!(availability_of(&*store, w.session(), w.ga.id).await.held, 300);
}
