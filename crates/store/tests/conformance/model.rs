//! Model-based property test: random sequences of holds, clock moves, expiries, cancels and
//! payments are applied to the store and to `admit_domain::inventory::Inventory`, the
//! reference model; after every step both must agree on each outcome and on the inventory.
//!
//! Each proptest case sells in a new event of the same store, so the suite's one-store-per-test
//! signature holds. Proptest drives the cases synchronously on a blocking thread, entering the
//! test's tokio runtime for each case.

use super::fixtures::{MINUTE, T0, TTL, World};
use super::support::{hold_seats, new_hold, pay, seat_states};
use admit_domain::inventory::{Inventory, InventoryError};
use admit_domain::{GradeId, HoldItem, HoldState, Money, SeatId};
use admit_store::{Hold, HoldRequest, SeatState, Store, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::runtime::Handle;

/// Seats in the first session: VIP 1×3 and R 1×4; GA quota 6.
const SEATS: usize = 7;
const QUOTA: u32 = 6;
const CASES: u32 = 24;

#[derive(Debug, Clone)]
enum Op {
    /// Seats by index into the first session's seats; indices ≥ `SEATS` name the second
    /// session's seats, which this session must refuse.
    HoldSeats(BTreeSet<usize>),
    HoldUnits(u32),
    Advance(i64),
    Expire,
    Cancel(usize),
    Pay(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::btree_set(0..SEATS, 1..4).prop_map(Op::HoldSeats),
        1 => (SEATS..SEATS + 2).prop_map(|i| Op::HoldSeats(BTreeSet::from([i]))),
        2 => (0u32..4).prop_map(Op::HoldUnits),
        // Up to a whole hold lifetime, so holds lapse both swept and unswept.
        3 => (0..=TTL / MINUTE).prop_map(|m| Op::Advance(m * MINUTE)),
        2 => Just(Op::Expire),
        1 => any::<usize>().prop_map(Op::Cancel),
        2 => any::<usize>().prop_map(Op::Pay),
    ]
}

/// One case's world: the store's event and the model built from the same seats and prices.
struct Case {
    store: Arc<dyn Store>,
    w: World,
    seats: Vec<(SeatId, GradeId)>,
    foreign: Vec<SeatId>,
    model: Inventory,
    holds: Vec<(Hold, usize)>,
    paid: BTreeSet<usize>,
    now: i64,
}

/// Both sides' outcome of one step, reduced to what must match.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    SoldOut,
    Invalid,
    HoldNotActive,
    Count(u64),
}

fn store_outcome<T>(r: Result<T, StoreError>) -> Result<Outcome, TestCaseError> {
    match r {
        Ok(_) => Ok(Outcome::Ok),
        Err(StoreError::SoldOut) => Ok(Outcome::SoldOut),
        Err(StoreError::Invalid(_)) => Ok(Outcome::Invalid),
        Err(StoreError::HoldNotActive(_)) => Ok(Outcome::HoldNotActive),
        Err(other) => Err(TestCaseError::fail(format!("unexpected store error {other:?}"))),
    }
}

fn model_outcome<T>(r: Result<T, InventoryError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(InventoryError::SoldOut) => Outcome::SoldOut,
        Err(InventoryError::Unknown | InventoryError::Empty) => Outcome::Invalid,
        Err(InventoryError::HoldNotActive) => Outcome::HoldNotActive,
        Err(InventoryError::Money(e)) => panic!("model money error {e}"),
    }
}

impl Case {
    async fn new(store: Arc<dyn Store>) -> Case {
        // `expire_holds` sweeps the whole store: clear what earlier cases left active.
        store.expire_holds(i64::MAX).await.unwrap();
        let w = World::builder().vip(1, 3).r(1, 4).ga_quota(QUOTA).build(&*store).await;
        let seats: Vec<_> = store.seats(w.session()).await.unwrap().iter().map(|s| (s.id, s.grade_id)).collect();
        let foreign = store.seats(w.sessions[1]).await.unwrap().iter().map(|s| s.id).collect();
        assert_eq!(seats.len(), SEATS);
        let prices: Vec<(GradeId, Money)> = [&w.vip, &w.r, &w.ga].iter().map(|g| (g.id, g.price)).collect();
        let model = Inventory::new(&seats, &[(w.ga.id, QUOTA)], &prices);
        Case { store, w, seats, foreign, model, holds: Vec::new(), paid: BTreeSet::new(), now: T0 }
    }

    async fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        let (store, session, expires) = (&*self.store, self.w.session(), self.now + TTL);
        let (ours, theirs) = match op {
            Op::HoldSeats(indices) => {
                let pick = |i: usize| match self.seats.get(i) {
                    Some(own) => *own,
                    None => (self.foreign[i - SEATS], self.w.vip.id),
                };
                let (ids, items): (Vec<_>, Vec<_>) =
                    indices.into_iter().map(pick).map(|(seat, grade)| (seat, HoldItem::Seat { seat, grade })).unzip();
                let r = hold_seats(store, session, &ids, self.now).await;
                let m = self.model.hold(items, expires);
                self.remember(&r, &m);
                (store_outcome(r)?, model_outcome(m))
            }
            Op::HoldUnits(quantity) => {
                let request = HoldRequest::Units { grade: self.w.ga.id, quantity };
                let r = store.create_hold(new_hold(session, request, self.now)).await;
                let m = self.model.hold(vec![HoldItem::Units { grade: self.w.ga.id, quantity }], expires);
                self.remember(&r, &m);
                (store_outcome(r)?, model_outcome(m))
            }
            Op::Advance(ms) => {
                self.now += ms;
                (Outcome::Ok, Outcome::Ok)
            }
            Op::Expire => (
                Outcome::Count(store.expire_holds(self.now).await.map_err(fail)?),
                Outcome::Count(self.model.expire(self.now) as u64),
            ),
            Op::Cancel(_) | Op::Pay(_) if self.holds.is_empty() => return Ok(()),
            Op::Cancel(i) => {
                let (hold, n) = &self.holds[i % self.holds.len()];
                let r = store_outcome(store.cancel_hold(&hold.id, self.now).await)?;
                // Cancelling an ended hold is a no-op in the store, an error in the model;
                // only a paid hold must be refused by both.
                let m = match model_outcome(self.model.cancel(*n)) {
                    Outcome::HoldNotActive if !self.paid.contains(n) => Outcome::Ok,
                    other => other,
                };
                (r, m)
            }
            Op::Pay(i) => {
                let (hold, n) = self.holds[i % self.holds.len()].clone();
                let r = pay(store, &hold, self.now).await;
                let m = self.model.pay(n, self.now);
                if let (Ok(order), Ok(o)) = (&r, &m) {
                    prop_assert_eq!(order.total, self.model.orders()[*o].total);
                    self.paid.insert(n);
                }
                (store_outcome(r)?, model_outcome(m))
            }
        };
        prop_assert_eq!(ours, theirs, "store and model disagree");
        self.compare().await
    }

    fn remember(&mut self, r: &Result<Hold, StoreError>, m: &Result<usize, InventoryError>) {
        if let (Ok(hold), Ok(n)) = (r, m) {
            self.holds.push((hold.clone(), *n));
        }
    }

    /// The store's seats, counters and hold states equal the model's.
    async fn compare(&self) -> Result<(), TestCaseError> {
        let store = &*self.store;
        let states = seat_states(store, self.w.session()).await;
        let free: Vec<SeatId> = states.iter().filter(|(_, s)| **s == SeatState::Free).map(|(id, _)| *id).collect();
        prop_assert_eq!(&free, &self.model.free_seats(), "free seats");
        let sold_seats: BTreeSet<SeatId> = self
            .model
            .orders()
            .iter()
            .flat_map(|o| &o.items)
            .filter_map(|i| match i {
                HoldItem::Seat { seat, .. } => Some(*seat),
                HoldItem::Units { .. } => None,
            })
            .collect();
        let store_sold: BTreeSet<SeatId> =
            states.iter().filter(|(_, s)| **s == SeatState::Sold).map(|(id, _)| *id).collect();
        prop_assert_eq!(&store_sold, &sold_seats, "sold seats");
        for a in store.availability(self.w.session()).await.map_err(fail)? {
            let (held, sold) = match self.model.quota(a.grade_id) {
                Some(q) => (q.held, q.sold),
                None => {
                    let of_grade = |ids: &mut dyn Iterator<Item = &SeatId>| {
                        ids.filter(|id| self.seats.iter().any(|(s, g)| s == *id && *g == a.grade_id)).count() as u32
                    };
                    let total = of_grade(&mut self.seats.iter().map(|(s, _)| s));
                    let sold = of_grade(&mut sold_seats.iter());
                    (total - of_grade(&mut free.iter()) - sold, sold)
                }
            };
            prop_assert_eq!((a.held, a.sold), (held, sold), "grade {} counters", a.grade_id);
        }
        for (hold, n) in &self.holds {
            let state = store.hold(&hold.id).await.map_err(fail)?.state;
            prop_assert_eq!(state == HoldState::Active, self.model.hold_is_active(*n), "hold {} is {:?}", n, state);
        }
        Ok(())
    }
}

fn fail(e: StoreError) -> TestCaseError {
    TestCaseError::fail(format!("store error {e:?}"))
}

pub async fn random_operations_agree_with_the_inventory_model(store: Arc<dyn Store>) {
    let runtime = Handle::current();
    let config = Config { cases: CASES, max_shrink_iters: 64, failure_persistence: None, ..Config::default() };
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(config);
        runner.run(&prop::collection::vec(op(), 1..40), |ops| {
            runtime.block_on(async {
                let mut case = Case::new(store.clone()).await;
                for op in ops {
                    case.apply(op).await?;
                }
                Ok(())
            })
        })
    })
    .await
    .expect("proptest thread");
    if let Err(e) = result {
        panic!("{e}");
    }
}
