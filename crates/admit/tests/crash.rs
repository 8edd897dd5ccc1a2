//! Crash durability of the real `admit` binary mid on-sale (DESIGN.md §4, invariants 1 and 2),
//! on SQLite and on PostgreSQL.
//!
//! A crowd buys until the node is SIGKILLed — no graceful shutdown, no WAL checkpoint — while
//! payments are in flight and some are recorded as pending. Then either `admit serve` restarts
//! on the same data (the same folder, or the same `--database` URL), or, on PostgreSQL, two
//! other nodes that ran all along repair it. Admit's tables and the card simulator's own ledger
//! are read directly to prove: every approved charge ended with tickets or a refund, nothing is
//! left pending, no seat or unit is sold twice or both sold and free, the inventory counters
//! match reality, and every order a buyer was shown survived with exactly its tickets. The
//! precise crash windows are manufactured one by one in `restart_repair.rs`.

#[allow(dead_code, reason = "each test binary uses its own part of the shared support")]
mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use support::crowd::{Crowd, spawn_buyers};
use support::demo::festival_session;
use support::deployment::Deployment;
use support::http::{Acked, approving_card, client, get_ok, hold, post};
use support::invariants::check_invariants;
use support::settle::{crash_state, wait_until_settled};

/// Concurrent buyers during the on sale.
const BUYERS: usize = 200;
/// Load runs at least this long before the crash...
const MIN_LOAD: Duration = Duration::from_millis(200);
/// ...and until this many orders were confirmed while this many payments are still in flight.
const MIN_ORDERS_BEFORE_CRASH: usize = 20;
const MIN_PAYMENTS_IN_FLIGHT: usize = 10;
const MIN_PENDING_ATTEMPTS: i64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_on_sale_loses_no_paid_order() {
    kill_mid_on_sale_then_repair(&Deployment::sqlite(), Repair::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_postgres_node_mid_on_sale_loses_no_paid_order() {
    let Some(deployment) = Deployment::postgres() else { return };
    kill_mid_on_sale_then_repair(&deployment, Repair::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_of_three_postgres_nodes_mid_on_sale_is_repaired_by_the_others_without_a_restart() {
    let Some(deployment) = Deployment::postgres() else { return };
    kill_mid_on_sale_then_repair(&deployment, Repair::Survivors).await;
}

/// Who settles what the killed node left open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// `admit serve` restarted on the same data (the same folder or `--database` URL).
    Restart,
    /// Two more nodes on the same PostgreSQL database, running all along (the crowd buys only
    /// on the node that dies); nobody restarts it.
    Survivors,
}

/// The on-sale crash scenario, on whichever backend `deployment` uses.
async fn kill_mid_on_sale_then_repair(deployment: &Deployment, repair: Repair) {
    let names: &[&str] = if repair == Repair::Survivors { &["a", "b", "c"] } else { &["a"] };
    let mut survivors = deployment.cluster(names, &[]);
    let mut server = survivors.remove(0);
    let festival = festival_session(deployment).await;
    // Mostly the concert's tonight session (seat contention), some tomorrow, some festival
    // units; the festival's GA grade (5) is kept out of the load for the purchase after restart.
    let targets =
        vec![(1, 1), (1, 2), (1, 3), (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (festival, 4), (festival, 6)];
    let crowd = Arc::new(Crowd::default());
    let buyers = spawn_buyers(BUYERS, vec![server.base.clone()], targets, &crowd);

    // Crash point: load has run a while, orders were confirmed, and payments are in flight,
    // some of them already recorded as pending attempts (so the kill lands inside the window).
    let mut db = deployment.admit_db().await;
    let started = Instant::now();
    let (in_flight, pending) = loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (orders, paying) = (crowd.orders.load(Relaxed), crowd.paying.load(Relaxed));
        if started.elapsed() >= MIN_LOAD && orders >= MIN_ORDERS_BEFORE_CRASH && paying >= MIN_PAYMENTS_IN_FLIGHT {
            let pending: i64 = db.scalar("SELECT COUNT(*) FROM payments WHERE state = 'pending'", &[]).await;
            if pending >= MIN_PENDING_ATTEMPTS {
                break (paying, pending);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out after 30 s waiting for the crash point ({MIN_ORDERS_BEFORE_CRASH} orders confirmed, \
             {MIN_PAYMENTS_IN_FLIGHT} payments in flight, {MIN_PENDING_ATTEMPTS} of them recorded): {orders} orders, \
             {paying} payments in flight, {} holds, {} sold-out answers; unexpected answers: {:?}\nserver output:\n{}",
            crowd.holds.load(Relaxed),
            crowd.sold_out.load(Relaxed),
            crowd.unexpected_answers(),
            server.log_tail()
        );
    };
    crowd.stop.store(true, Relaxed);
    let killed = server.sigkill();
    db.close().await;
    let load_time = started.elapsed();
    tokio::time::timeout(Duration::from_secs(45), async {
        for b in buyers {
            b.await.expect("a buyer task panicked");
        }
    })
    .await
    .expect("timed out after 45 s waiting for the buyers to notice the server is gone");
    let mut acked = crowd.acked();
    let unexpected = crowd.unexpected_answers();
    let left_behind = crash_state(deployment).await;
    eprintln!(
        "{} (repair: {repair:?}): killed ({killed}) after {load_time:?} of load: {} holds, {} orders confirmed, {in_flight} payments in \
         flight ({pending} pending just before), {} gateway time-outs, {} sold-out answers; left behind: {} pending and {} timed-out \
         attempts, {} approved charges without an order",
        deployment.describe(),
        crowd.holds.load(Relaxed),
        acked.len(),
        crowd.timeouts.load(Relaxed),
        crowd.sold_out.load(Relaxed),
        left_behind.pending,
        left_behind.timed_out,
        left_behind.charged_without_order,
    );
    for u in &unexpected {
        eprintln!("unexpected answer before the crash: {u}");
    }

    // The reconciler settles what the crash left open: on the restarted node, or on the others.
    let mut repairers = match repair {
        Repair::Restart => vec![deployment.serve(&[])],
        Repair::Survivors => survivors,
    };
    wait_until_settled(deployment, Duration::from_secs(15)).await;
    let http = client();
    for a in &acked {
        for node in &repairers {
            let order = get_ok(&http, &format!("{}/orders/{}", node.base, a.order_id)).await;
            assert_eq!(
                Acked::from_order(&order).ticket_ids,
                a.ticket_ids,
                "order {} after the crash does not have the tickets its buyer was shown (node {})",
                a.order_id,
                node.name
            );
        }
    }
    // And it still sells.
    let base = &repairers[repairers.len() - 1].base;
    let last = hold(&http, base, festival, 5, 2).await;
    let (status, order) = post(&http, &format!("{base}/holds/{}/payments", last.id), &approving_card())
        .await
        .expect("pay after the crash");
    assert_eq!(status, 201, "paying after the crash: {order}");
    assert_eq!(order["tickets"].as_array().map(Vec::len), Some(2), "{order}");
    acked.push(Acked::from_order(&order));

    // Stop every node (the hard way again) so the data is quiescent, then check it.
    for node in &mut repairers {
        node.sigkill();
    }
    let summary = check_invariants(deployment, &acked).await;
    eprintln!("{} (repair: {repair:?}) after the repair: {summary:?}", deployment.describe());
    assert!(summary.orders >= acked.len(), "{summary:?}");
    assert!(unexpected.is_empty(), "answers no buyer should get before the crash:\n{}", unexpected.join("\n"));
}
