//! What only a shared database can show: two nodes (two separate `PgStore` pools, as two
//! `admit serve` processes would have) racing on one database never sell a seat or unit
//! twice, never admit a single-entry ticket twice, and settle a payment racing an expiry
//! one way or the other, never both.

use crate::conformance::fixtures::{HOUR, T0, TTL, World};
use crate::conformance::support::{
    availability_of, buy_seats, hold_seats, hold_units, new_hold, pay, scan, seat_states,
};
use admit_domain::{DenyReason, HoldState};
use admit_store::postgres::scratch::{ScratchDatabase, require_postgres};
use admit_store::{HoldRequest, PgStore, SeatState, Store, StoreError};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

mod scattered_units;

const TASKS_PER_NODE: usize = 50;

/// Two nodes on one fresh database.
async fn two_nodes() -> Option<([Arc<dyn Store>; 2], ScratchDatabase)> {
    let db = require_postgres()?;
    let node =
        || async { Arc::new(PgStore::connect_with(db.url(), 4).await.expect("connect a node")) as Arc<dyn Store> };
    let nodes = [node().await, node().await];
    Some((nodes, db))
}

/// Starts `TASKS_PER_NODE` tasks on each node together; returns their results.
async fn race<T, F, Fut>(nodes: &[Arc<dyn Store>; 2], task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(2 * TASKS_PER_NODE));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..2 * TASKS_PER_NODE {
        let (barrier, work) = (barrier.clone(), task(nodes[i % 2].clone(), i));
        tasks.spawn(async move {
            barrier.wait().await;
            work.await
        });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_seat_is_never_sold_twice_across_nodes() {
    let Some((nodes, _db)) = two_nodes().await else { return };
    let w = World::builder().vip(4, 10).build(&*nodes[0]).await;
    let (session, grade) = (w.session(), w.vip.id);

    let results = race(&nodes, |node, _| async move {
        let request = HoldRequest::BestAvailable { grade, quantity: 1, require_adjacent: false };
        node.create_hold(new_hold(session, request, T0)).await
    })
    .await;

    let mut seats = Vec::new();
    for r in results {
        match r {
            Ok(hold) => seats.extend(hold.lines.iter().map(|l| l.seat.clone().expect("a seat").0)),
            Err(StoreError::SoldOut) => {}
            Err(other) => panic!("a losing buyer got {other:?}"),
        }
    }
    let distinct: BTreeSet<_> = seats.iter().copied().collect();
    assert_eq!((seats.len(), distinct.len()), (40, 40), "exactly 40 held, no seat twice");
    for node in &nodes {
        let states = seat_states(&**node, session).await;
        assert!(distinct.iter().all(|s| states[s] == SeatState::Held), "both nodes see every seat held");
        let a = availability_of(&**node, session, grade).await;
        assert_eq!((a.total, a.held, a.sold), (40, 40, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn general_admission_units_never_exceed_the_quota_across_nodes() {
    let Some((nodes, _db)) = two_nodes().await else { return };
    let w = World::builder().ga_quota(40).build(&*nodes[0]).await;
    let (session, grade) = (w.session(), w.ga.id);

    let results = race(&nodes, |node, i| async move {
        let hold = hold_units(&*node, session, grade, 1 + i as u32 % 3).await;
        match hold {
            Ok(hold) if i % 4 == 0 => pay(&*node, &hold, T0 + 1).await.map(|_| (hold.lines[0].quantity, true)),
            Ok(hold) => Ok((hold.lines[0].quantity, false)),
            Err(e) => Err(e),
        }
    })
    .await;

    let (mut held, mut sold) = (0, 0);
    for r in results {
        match r {
            Ok((n, true)) => sold += n,
            Ok((n, false)) => held += n,
            Err(StoreError::SoldOut) => {}
            Err(other) => panic!("a losing buyer got {other:?}"),
        }
    }
    assert!(held + sold <= 40, "{held} held + {sold} sold from a quota of 40");
    assert!(held + sold >= 38, "only {} units went: a refusal was not a real sell-out", held + sold);
    let a = availability_of(&*nodes[1], session, grade).await;
    assert_eq!((a.total, a.held, a.sold), (40, held, sold), "the counters are what the winners got");
    assert_eq!(store_tickets(&*nodes[0], session).await, sold as usize);
}

async fn store_tickets(store: &dyn Store, session: admit_domain::SessionId) -> usize {
    store.manifest(session).await.expect("manifest").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_entry_ticket_scanned_on_two_nodes_at_once_admits_once() {
    let Some((nodes, _db)) = two_nodes().await else { return };
    let w = World::builder().build(&*nodes[0]).await;
    let vip = w.seats_of(&*nodes[0], w.session(), w.vip.id).await;
    let order = buy_seats(&*nodes[1], w.session(), &[vip[0].id]).await;
    let ticket = order.tickets[0].clone();
    let doors = T0 + 18 * HOUR;
    let gates = [w.gate(0), w.gate(1)];

    let results = race(&nodes, |node, i| {
        let request = scan(&ticket, gates[i % 2], doors + i as i64);
        async move { node.check_in(request).await }
    })
    .await;

    let admitted = results.iter().filter(|r| r.is_ok()).count();
    let used = results.iter().filter(|r| matches!(r, Err(StoreError::Denied(DenyReason::AlreadyUsed)))).count();
    assert_eq!((admitted, used), (1, 2 * TASKS_PER_NODE - 1), "{results:?}");
    assert_eq!(nodes[0].ticket(ticket.id).await.unwrap().entries_used, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_racing_an_expiry_on_another_node_either_sells_or_frees_the_seat() {
    let Some((nodes, _db)) = two_nodes().await else { return };
    let w = World::builder().vip(2, 10).build(&*nodes[0]).await;
    let vip = w.seats_of(&*nodes[0], w.session(), w.vip.id).await;
    let mut holds = Vec::new();
    for seat in &vip {
        holds.push(hold_seats(&*nodes[0], w.session(), &[seat.id], T0).await.unwrap());
    }

    // Node 0 pays every hold at once, each just before it expires by its clock; node 1 sweeps
    // meanwhile by its own clock, just after. Whichever locks a hold first decides it.
    let mut payments = tokio::task::JoinSet::new();
    for hold in holds.clone() {
        let node = nodes[0].clone();
        payments.spawn(async move {
            match pay(&*node, &hold, hold.expires_at_ms - 1).await {
                Ok(_) => Some(hold.id),
                Err(StoreError::HoldNotActive(HoldState::Expired)) => None,
                Err(other) => panic!("payment got {other:?}"),
            }
        });
    }
    let sweeper = {
        let node = nodes[1].clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                node.expire_holds(T0 + TTL).await.unwrap();
            }
        })
    };
    let paid: BTreeSet<String> = payments.join_all().await.into_iter().flatten().collect();
    sweeper.await.unwrap();
    nodes[1].expire_holds(T0 + TTL).await.unwrap();

    let states = seat_states(&*nodes[1], w.session()).await;
    for hold in &holds {
        let seat = hold.lines[0].seat.clone().unwrap().0;
        let state = nodes[1].hold(&hold.id).await.unwrap().state;
        match paid.contains(&hold.id) {
            true => assert_eq!((state, states[&seat]), (HoldState::Converted, SeatState::Sold)),
            false => assert_eq!((state, states[&seat]), (HoldState::Expired, SeatState::Free)),
        }
    }
    let a = availability_of(&*nodes[0], w.session(), w.vip.id).await;
    assert_eq!((a.held, a.sold), (0, paid.len() as u32));
    assert_eq!(nodes[0].manifest(w.session()).await.unwrap().len(), paid.len());
}
