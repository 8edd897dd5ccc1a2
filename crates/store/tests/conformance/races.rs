//! Invariant 1 under concurrency: 200 buyers race for 50 seats (or 50 units) and pay at once;
//! nothing is sold twice, nothing past the quota, and the counters agree with the tickets.

use super::fixtures::{T0, World};
use super::support::{availability_of, hold_units, new_hold, pay, seat_states};
use admit_domain::{HoldState, SessionId, TicketStatus};
use admit_store::{Hold, HoldRequest, SeatState, Store, StoreError};
use rand::seq::SliceRandom;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

const BUYERS: usize = 200;

/// Runs `BUYERS` tasks started together; each returns the hold it managed to pay for, if any.
async fn race<F, Fut>(store: &Arc<dyn Store>, buyer: F) -> Vec<Hold>
where
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: Future<Output = Option<Hold>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(BUYERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..BUYERS {
        let (barrier, attempt) = (barrier.clone(), buyer(store.clone(), i));
        tasks.spawn(async move {
            barrier.wait().await;
            attempt.await
        });
    }
    let mut paid = Vec::new();
    while let Some(result) = tasks.join_next().await {
        paid.extend(result.expect("buyer task"));
    }
    paid
}

/// A winner pays at once; a loser must have been told `SoldOut`, never anything else.
async fn hold_and_pay(store: &dyn Store, session: SessionId, request: HoldRequest) -> Option<Hold> {
    match store.create_hold(new_hold(session, request, T0)).await {
        Ok(hold) => {
            pay(store, &hold, T0 + 1).await.expect("a winner's payment completes");
            Some(hold)
        }
        Err(StoreError::SoldOut) => None,
        Err(other) => panic!("a losing buyer got {other:?}"),
    }
}

/// Every seat of the grade was sold exactly once, to the holds that were paid, and no hold or
/// counter is left over.
async fn assert_seats_sold_once(store: &dyn Store, w: &World, paid: &[Hold]) {
    let sold_by_holds: Vec<_> = paid.iter().flat_map(|h| &h.lines).map(|l| l.seat.clone().unwrap().1).collect();
    let distinct: BTreeSet<_> = sold_by_holds.iter().cloned().collect();
    assert_eq!(distinct.len(), sold_by_holds.len(), "a seat was held by two winners");
    assert_eq!(distinct.len(), 50, "every seat found a buyer");

    let manifest = store.manifest(w.session()).await.unwrap();
    let ticketed: BTreeSet<_> = manifest.iter().map(|m| m.seat.clone().expect("seated ticket")).collect();
    assert_eq!(manifest.len(), 50, "one ticket per seat");
    assert_eq!(ticketed, distinct, "each seat in exactly one valid ticket");
    assert!(manifest.iter().all(|m| m.status == TicketStatus::Valid));

    let a = availability_of(store, w.session(), w.vip.id).await;
    assert_eq!((a.total, a.held, a.sold, a.remaining()), (50, 0, 50, 0));
    let states = seat_states(store, w.session()).await;
    let vip = w.seats_of(store, w.session(), w.vip.id).await;
    assert!(vip.iter().all(|s| states[&s.id] == SeatState::Sold));
    assert_no_hold_left(store, paid).await;
}

async fn assert_no_hold_left(store: &dyn Store, paid: &[Hold]) {
    assert_eq!(store.expire_holds(i64::MAX).await.unwrap(), 0, "no hold was left active");
    for hold in paid {
        let h = store.hold(&hold.id).await.unwrap();
        assert_eq!(h.state, HoldState::Converted);
        assert!(h.order_id.is_some());
    }
}

pub async fn racing_buyers_of_best_available_seats_sell_each_seat_once(store: Arc<dyn Store>) {
    let w = World::builder().vip(5, 10).r(1, 2).build(&*store).await;
    let (session, grade) = (w.session(), w.vip.id);

    let paid = race(&store, |store, _| async move {
        let request = HoldRequest::BestAvailable { grade, quantity: 1, require_adjacent: false };
        hold_and_pay(&*store, session, request).await
    })
    .await;

    assert_eq!(paid.len(), 50);
    assert_seats_sold_once(&*store, &w, &paid).await;
}

pub async fn racing_buyers_of_random_explicit_seats_sell_each_seat_once(store: Arc<dyn Store>) {
    let w = World::builder().vip(5, 10).r(1, 2).build(&*store).await;
    let seats: Vec<_> = w.seats_of(&*store, w.session(), w.vip.id).await.iter().map(|s| s.id).collect();
    let session = w.session();

    // Each buyer first asks for two random seats at once, then walks the seats one by one in
    // its own random order until it gets one or finds every seat taken.
    let paid = race(&store, |store, _| {
        let mut order = seats.clone();
        order.shuffle(&mut rand::thread_rng());
        async move {
            if let Some(hold) = hold_and_pay(&*store, session, HoldRequest::Seats(order[..2].to_vec())).await {
                return Some(hold);
            }
            for seat in order {
                if let Some(hold) = hold_and_pay(&*store, session, HoldRequest::Seats(vec![seat])).await {
                    return Some(hold);
                }
            }
            None
        }
    })
    .await;

    assert!((25..=50).contains(&paid.len()), "{} winners", paid.len());
    assert_seats_sold_once(&*store, &w, &paid).await;
}

pub async fn racing_buyers_of_ga_units_never_exceed_the_quota(store: Arc<dyn Store>) {
    let w = World::builder().ga_quota(50).build(&*store).await;
    let (session, grade) = (w.session(), w.ga.id);

    let paid = race(&store, |store, i| async move {
        hold_and_pay(&*store, session, HoldRequest::Units { grade, quantity: 1 + i as u32 % 3 }).await
    })
    .await;

    let units: u32 = paid.iter().map(|h| h.lines[0].quantity).sum();
    let a = availability_of(&*store, session, grade).await;
    assert!(units <= 50, "{units} units sold from a quota of 50");
    assert_eq!((a.total, a.held, a.sold), (50, 0, units));
    let manifest = store.manifest(session).await.unwrap();
    assert_eq!(manifest.len() as u32, units, "one ticket per unit sold");
    assert_eq!(manifest.iter().map(|m| &m.reference).collect::<BTreeSet<_>>().len(), manifest.len());
    assert_no_hold_left(&*store, &paid).await;
    // Whatever is left is exactly what can still be held.
    let left = a.remaining();
    assert_eq!(left, 50 - units);
    assert_err!(hold_units(&*store, session, grade, left + 1).await, StoreError::SoldOut);
    if left > 0 {
        hold_units(&*store, session, grade, left).await.expect("the remainder is for sale");
    }
}
