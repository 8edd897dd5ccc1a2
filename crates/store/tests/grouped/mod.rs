//! PostgreSQL only: group commit (`postgres/group_commit.rs`, migration 0010). Requests that
//! arrive together are written in groups, yet each gets the answer it would get alone: its
//! hold, order or payment, or its own refusal, and one bad request never fails the others.

use crate::conformance::fixtures::{GA_PRICE, T0, TTL, World};
use crate::conformance::support::{availability_of, completion, new_hold, payment_for, tickets_for};
use admit_domain::{GradeId, HoldState, SessionId};
use admit_store::postgres::scratch::{ScratchDatabase, require_postgres};
use admit_store::{CompleteOrder, HoldRequest, Order, PgStore, Store, StoreError, StoreResult};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

async fn open() -> Option<(Arc<PgStore>, ScratchDatabase)> {
    let db = require_postgres()?;
    let store = PgStore::connect_with(db.url(), 4).await.expect("connect to the scratch database");
    Some((Arc::new(store), db))
}

/// Runs every task at once on the store; returns their results in task order.
async fn all_at_once<T, Fut>(tasks: impl IntoIterator<Item = Fut>) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for h in handles {
        results.push(h.await.expect("task"));
    }
    results
}

fn units(grade: GradeId, quantity: u32) -> HoldRequest {
    HoldRequest::Units { grade, quantity }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ga_holds_arriving_together_are_grouped_and_each_gets_its_own_answer() {
    let Some((store, _db)) = open().await else { return };
    let w = World::builder().ga_quota(60).build(&*store).await;
    let (session, ga) = (w.session(), w.ga.id);
    let before = store.grouped_requests();

    // 100 buyers of one unit for a quota of 60, mixed with requests the group must leave to
    // the one-item path: an unknown session, and a reserved grade asked for as units.
    let mut requests: Vec<(&str, HoldRequest, SessionId)> =
        (0..100).map(|_| ("buyer", units(ga, 1), session)).collect();
    requests.insert(10, ("no such session", units(ga, 1), SessionId(987_654)));
    requests.insert(50, ("reserved grade", HoldRequest::Units { grade: w.r.id, quantity: 1 }, session));
    let answers = all_at_once(requests.iter().map(|(_, request, s)| {
        let (store, hold) = (store.clone(), new_hold(*s, request.clone(), T0));
        async move { store.create_hold(hold).await }
    }))
    .await;

    let mut held = Vec::new();
    for ((what, _, _), answer) in requests.iter().zip(answers) {
        match (*what, answer) {
            ("buyer", Ok(hold)) => held.push(hold),
            ("buyer", Err(StoreError::SoldOut)) => {}
            ("no such session", Err(StoreError::NotFound("session"))) => {}
            ("reserved grade", Err(StoreError::Invalid(_))) => {}
            (what, other) => panic!("{what}: unexpected {other:?}"),
        }
    }
    assert_eq!(held.len(), 60, "every unit held once the rush is over, none twice");
    for hold in &held {
        assert_eq!((hold.state, hold.total.minor(), hold.lines.len()), (HoldState::Active, GA_PRICE, 1));
        assert_eq!(store.hold(&hold.id).await.unwrap(), *hold, "the answer is the hold as stored");
    }
    let a = availability_of(&*store, session, ga).await;
    assert_eq!((a.total, a.held, a.sold), (60, 60, 0));
    assert!(store.grouped_requests() > before, "the rush was written in groups");

    // Released units go back to the shards they came from and can be held again.
    for hold in &held[..5] {
        store.cancel_hold(&hold.id, T0 + 1).await.unwrap();
    }
    assert_eq!(availability_of(&*store, session, ga).await.held, 55);
    store.create_hold(new_hold(session, units(ga, 5), T0 + 2)).await.expect("the five released units");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_and_completions_arriving_together_are_grouped_and_each_gets_its_own_answer() {
    let Some((store, _db)) = open().await else { return };
    let w = World::builder().ga_quota(90).build(&*store).await;
    let (session, ga) = (w.session(), w.ga.id);
    let mut holds = Vec::new();
    for _ in 0..40 {
        holds.push(store.create_hold(new_hold(session, units(ga, 2), T0)).await.unwrap());
    }
    let late = store.create_hold(new_hold(session, units(ga, 1), T0 - TTL)).await.unwrap();
    let before = store.grouped_requests();

    // Payments: one per hold, a second one for hold 0, and one for a hold that has expired.
    let mut payments: Vec<_> = holds.iter().map(|h| payment_for(h, T0 + 1)).collect();
    payments.push(payment_for(&holds[0], T0 + 1));
    payments.push(payment_for(&late, T0 + 1));
    let answers = all_at_once(payments.iter().cloned().map(|p| {
        let store = store.clone();
        async move { store.begin_payment(p).await }
    }))
    .await;
    let (first_of_0, second_of_0) = (&answers[0], &answers[40]);
    assert!(
        matches!(
            (first_of_0, second_of_0),
            (Ok(()), Err(StoreError::Conflict(_))) | (Err(StoreError::Conflict(_)), Ok(()))
        ),
        "one payment per hold at a time: {first_of_0:?}, {second_of_0:?}"
    );
    assert!(answers[1..40].iter().all(|a| a.is_ok()), "{answers:?}");
    assert!(matches!(answers[41], Err(StoreError::HoldNotActive(HoldState::Expired))), "{:?}", answers[41]);
    let paying_0 = if answers[0].is_ok() { &payments[0] } else { &payments[40] };

    // Completions: one per hold, the same payment's completion twice for hold 1, and one with
    // tickets that do not match its hold.
    let mut completions: Vec<_> = holds
        .iter()
        .enumerate()
        .map(|(i, h)| completion(h, if i == 0 { &paying_0.id } else { &payments[i].id }, tickets_for(h), T0 + 2))
        .collect();
    let again = completion(&holds[1], &payments[1].id, tickets_for(&holds[1]), T0 + 2);
    completions.push(again);
    let mismatched = completions.swap_remove(2);
    let short = CompleteOrder { tickets: mismatched.tickets[..1].to_vec(), ..mismatched.clone() };
    completions.push(short);
    let answers: Vec<StoreResult<Order>> = all_at_once(completions.iter().cloned().map(|c| {
        let store = store.clone();
        async move { store.complete_order(c).await }
    }))
    .await;

    let mut sold_units = 0;
    for (c, answer) in completions.iter().zip(&answers) {
        if c.tickets.len() == 1 {
            assert!(matches!(answer, Err(StoreError::Invalid(_))), "tickets that do not match: {answer:?}");
            continue;
        }
        let order = answer.as_ref().unwrap_or_else(|e| panic!("completing {}: {e}", c.hold_id));
        assert_eq!(order.hold_id, c.hold_id);
        assert_eq!(order.tickets.len(), 2);
        assert_eq!(store.order(&order.id).await.unwrap(), *order, "the answer is the order as stored");
        if order.id == c.order_id {
            sold_units += 2;
        }
    }
    let orders_of_1: BTreeSet<_> = completions
        .iter()
        .zip(&answers)
        .filter(|(c, _)| c.hold_id == holds[1].id)
        .map(|(_, a)| &a.as_ref().unwrap().id)
        .collect();
    assert_eq!(orders_of_1.len(), 1, "completing one payment twice gives one order");
    assert_eq!(sold_units, 39 * 2, "39 holds paid (hold 2's tickets did not match)");
    let a = availability_of(&*store, session, ga).await;
    assert_eq!((a.sold, a.held), (78, 2 + 1), "hold 2 and the expired one are still held until swept");
    assert!(store.grouped_requests() > before, "payments and completions were written in groups");

    // The refused completion changed nothing: hold 2 can still be paid with the right tickets.
    let fixed = completion(&holds[2], &payments[2].id, tickets_for(&holds[2]), T0 + 3);
    assert_eq!(store.complete_order(fixed).await.unwrap().tickets.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn best_available_holds_arriving_together_are_grouped_and_never_share_a_seat() {
    let Some((store, _db)) = open().await else { return };
    let w = World::builder().r(4, 10).build(&*store).await;
    let (session, r) = (w.session(), w.r.id);
    let before = store.grouped_requests();

    // 25 pairs of adjacent seats asked for 4 rows of 10 (room for 20 pairs), and one asking
    // for the general-admission grade as seats.
    let pair = HoldRequest::BestAvailable { grade: r, quantity: 2, require_adjacent: true };
    let mut requests: Vec<HoldRequest> = (0..25).map(|_| pair.clone()).collect();
    requests.insert(7, HoldRequest::BestAvailable { grade: w.ga.id, quantity: 2, require_adjacent: true });
    let answers = all_at_once(requests.iter().map(|request| {
        let (store, hold) = (store.clone(), new_hold(session, request.clone(), T0));
        async move { store.create_hold(hold).await }
    }))
    .await;

    let mut seats = BTreeSet::new();
    let (mut held, mut sold_out) = (0, 0);
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok(hold) if i != 7 => {
                held += 1;
                let mut numbers: Vec<&str> = hold.lines.iter().map(|l| l.seat.as_ref().unwrap().1.as_str()).collect();
                numbers.sort();
                assert_eq!(hold.lines.len(), 2, "{numbers:?}");
                for line in &hold.lines {
                    assert!(seats.insert(line.seat.as_ref().unwrap().0), "a seat held twice: {numbers:?}");
                }
                assert_eq!(store.hold(&hold.id).await.unwrap(), hold, "the answer is the hold as stored");
            }
            Err(StoreError::SoldOut) if i != 7 => sold_out += 1,
            Err(StoreError::Invalid(_)) if i == 7 => {}
            other => panic!("request {i}: unexpected {other:?}"),
        }
    }
    assert_eq!((held, sold_out), (20, 5), "every pair fits, the rest are sold out");
    let states = store.seats(session).await.unwrap();
    let held_now = states.iter().filter(|s| s.grade_id == r && s.state == admit_store::SeatState::Held).count();
    assert_eq!(held_now, 40);
    assert!(store.grouped_requests() > before, "the rush was written in groups");
}
