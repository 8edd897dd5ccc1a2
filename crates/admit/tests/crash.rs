//! Crash durability of the real `admit` binary (DESIGN.md §4, invariants 1 and 2).
//!
//! The server is SIGKILLed — no graceful shutdown, no WAL checkpoint — in the middle of an on
//! sale, and in the exact window between "the gateway approved the charge" and "the tickets
//! were issued". After `admit serve` restarts on the same data folder, both SQLite files (Admit's
//! `admit.db` and the card simulator's own ledger `payments-sim.db`) are read directly to prove:
//! every approved charge ended with tickets or a refund, nothing is left pending, no seat or
//! unit is sold twice or both sold and free, the inventory counters match reality, and every
//! order a buyer was shown survived with exactly its tickets.

mod support;

use serde_json::json;
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{
    Acked, HeldSeats, Server, admit_db, approving_card, check_invariants, client, crash_state, eventually, get_ok,
    hold, now_ms, open_ro, open_rw, post, problem_slug, sim_db, violations, wait_until_settled,
};

/// Concurrent buyers during the on sale.
const BUYERS: usize = 200;
/// Load runs at least this long before the crash...
const MIN_LOAD: Duration = Duration::from_millis(1_500);
/// ...and until this many orders were confirmed while this many payments are still in flight.
const MIN_ORDERS_BEFORE_CRASH: usize = 20;
const MIN_PAYMENTS_IN_FLIGHT: usize = 10;

/// What the buyers saw, shared between them.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    holds: AtomicUsize,
    orders: AtomicUsize,
    sold_out: AtomicUsize,
    timeouts: AtomicUsize,
    /// Payment requests sent and not yet answered.
    paying: AtomicUsize,
    /// Every order a buyer received a 201 for.
    acked: Mutex<Vec<Acked>>,
    /// Answers no buyer should get from a healthy server.
    unexpected: Mutex<Vec<String>>,
}

impl Load {
    /// Records an answer that is wrong unless the server is being killed.
    fn unexpected(&self, what: String) {
        if !self.stop.load(Relaxed) {
            self.unexpected.lock().unwrap_or_else(|p| p.into_inner()).push(what);
        }
    }
}

/// One buyer: hold, then pay with an approving card, again and again until told to stop (or
/// until the server is gone).
async fn buyer(n: usize, base: String, client: reqwest::Client, targets: Arc<Vec<(i64, i64)>>, load: Arc<Load>) {
    let mut turn = n;
    while !load.stop.load(Relaxed) {
        turn += 1;
        let (session, grade) = targets[turn % targets.len()];
        let quantity = 1 + (n + turn / targets.len()) % 2;
        let request = json!({ "session_id": session, "grade_id": grade, "quantity": quantity });
        let hold_id = match post(&client, &format!("{base}/holds"), &request).await {
            Ok((201, body)) => match body["id"].as_str() {
                Some(id) => {
                    load.holds.fetch_add(1, Relaxed);
                    id.to_owned()
                }
                None => {
                    load.unexpected(format!("POST /holds {request} -> 201 without an id: {body}"));
                    continue;
                }
            },
            Ok((409, body)) if problem_slug(&body) == "sold-out" => {
                load.sold_out.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Ok((status, body)) => {
                load.unexpected(format!("POST /holds {request} -> {status} {body}"));
                continue;
            }
            Err(e) => {
                // Connection errors are what the kill looks like from here.
                load.unexpected(format!("POST /holds {request}: {e}"));
                break;
            }
        };
        load.paying.fetch_add(1, Relaxed);
        let paid = post(&client, &format!("{base}/holds/{hold_id}/payments"), &approving_card()).await;
        load.paying.fetch_sub(1, Relaxed);
        match paid {
            Ok((201, order)) => {
                load.acked.lock().unwrap_or_else(|p| p.into_inner()).push(Acked::from_order(&order));
                load.orders.fetch_add(1, Relaxed);
            }
            // The gateway did not answer in time: the reconciler refunds any charge later.
            Ok((503 | 504, _)) => {
                load.timeouts.fetch_add(1, Relaxed);
            }
            Ok((status, body)) => load.unexpected(format!("POST /holds/{hold_id}/payments -> {status} {body}")),
            Err(e) => {
                load.unexpected(format!("POST /holds/{hold_id}/payments: {e}"));
                break;
            }
        }
    }
}

/// The demo festival's session (general admission, grades 4–6).
async fn festival_session(data_dir: &Path) -> i64 {
    let mut db = open_ro(&admit_db(data_dir)).await;
    sqlx::query_scalar("SELECT session_id FROM inventory WHERE grade_id = 4")
        .fetch_one(&mut db)
        .await
        .expect("the demo festival's session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_on_sale_loses_no_paid_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::demo(dir.path(), &[]);
    let festival = festival_session(dir.path()).await;
    // Mostly the concert's tonight session (seat contention), some tomorrow, some festival
    // units; the festival's GA grade (5) is kept out of the load for the purchase after restart.
    let targets = Arc::new(vec![
        (1, 1),
        (1, 2),
        (1, 3),
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 1),
        (2, 2),
        (2, 3),
        (festival, 4),
        (festival, 6),
    ]);
    let load = Arc::new(Load::default());
    let http = client();
    let buyers: Vec<_> = (0..BUYERS)
        .map(|n| tokio::spawn(buyer(n, server.base.clone(), http.clone(), targets.clone(), load.clone())))
        .collect();

    // Crash point: load has run a while, orders were confirmed, and payments are in flight.
    let started = Instant::now();
    let in_flight = loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (orders, paying) = (load.orders.load(Relaxed), load.paying.load(Relaxed));
        if started.elapsed() >= MIN_LOAD && orders >= MIN_ORDERS_BEFORE_CRASH && paying >= MIN_PAYMENTS_IN_FLIGHT {
            break paying;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out after 30 s waiting for the crash point ({MIN_ORDERS_BEFORE_CRASH} orders confirmed and \
             {MIN_PAYMENTS_IN_FLIGHT} payments in flight): {orders} orders, {paying} payments in flight, {} holds, \
             {} sold-out answers; unexpected answers: {:?}\nserver output:\n{}",
            load.holds.load(Relaxed),
            load.sold_out.load(Relaxed),
            load.unexpected.lock().unwrap_or_else(|p| p.into_inner()),
            server.log_tail()
        );
    };
    load.stop.store(true, Relaxed);
    let killed = server.sigkill();
    let load_time = started.elapsed();
    tokio::time::timeout(Duration::from_secs(45), async {
        for b in buyers {
            b.await.expect("a buyer task panicked");
        }
    })
    .await
    .expect("timed out after 45 s waiting for the buyers to notice the server is gone");
    let mut acked = load.acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let unexpected = load.unexpected.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let left_behind = crash_state(dir.path()).await;
    eprintln!(
        "killed ({killed}) after {load_time:?} of load: {} holds, {} orders confirmed, {in_flight} payments in \
         flight, {} gateway time-outs, {} sold-out answers; left behind: {} pending and {} timed-out \
         attempts, {} approved charges without an order",
        load.holds.load(Relaxed),
        acked.len(),
        load.timeouts.load(Relaxed),
        load.sold_out.load(Relaxed),
        left_behind.pending,
        left_behind.timed_out,
        left_behind.charged_without_order,
    );
    for u in &unexpected {
        eprintln!("unexpected answer before the crash: {u}");
    }

    // Restart on the same folder; the reconciler settles what the crash left open.
    let mut server = Server::serve(dir.path(), &[]);
    wait_until_settled(dir.path(), Duration::from_secs(15)).await;
    let http = client();
    for a in &acked {
        let order = get_ok(&http, &format!("{}/orders/{}", server.base, a.order_id)).await;
        assert_eq!(
            Acked::from_order(&order).ticket_ids,
            a.ticket_ids,
            "order {} after the restart does not have the tickets its buyer was shown",
            a.order_id
        );
    }
    // And it still sells.
    let last = hold(&http, &server.base, festival, 5, 2).await;
    let (status, order) = post(&http, &format!("{}/holds/{}/payments", server.base, last.id), &approving_card())
        .await
        .expect("pay after the restart");
    assert_eq!(status, 201, "paying after the restart: {order}");
    assert_eq!(order["tickets"].as_array().map(Vec::len), Some(2), "{order}");
    acked.push(Acked::from_order(&order));

    // Stop it (the hard way again) so both files are quiescent, then check them.
    server.sigkill();
    let summary = check_invariants(dir.path(), &acked).await;
    eprintln!("after the restart: {summary:?}");
    assert!(summary.orders >= acked.len(), "{summary:?}");
    assert!(unexpected.is_empty(), "answers no buyer should get before the crash:\n{}", unexpected.join("\n"));
}

/// Writes the payment attempt exactly as `purchase::pay` does before it calls the gateway.
async fn record_attempt(db: &mut SqliteConnection, id: &str, hold: &HeldSeats, state: &str, at_ms: i64) {
    sqlx::query(
        "INSERT INTO payments (id, hold_id, gateway, amount_minor, currency, method, state, created_at, updated_at)
         VALUES (?, ?, 'card-simulator', ?, ?, 'card **** 4242', ?, ?, ?)",
    )
    .bind(id)
    .bind(&hold.id)
    .bind(hold.amount_minor)
    .bind(&hold.currency)
    .bind(state)
    .bind(at_ms)
    .bind(at_ms)
    .execute(db)
    .await
    .unwrap_or_else(|e| panic!("record payment attempt {id}: {e}"));
}

/// Writes an approved charge exactly as the card simulator records one.
async fn record_charge(sim: &mut SqliteConnection, reference: &str, hold: &HeldSeats) {
    sqlx::query(
        "INSERT INTO sim_charges (reference, amount_minor, currency, last4, outcome, authorization)
         VALUES (?, ?, ?, '4242', 'approved', 'sim_test')",
    )
    .bind(reference)
    .bind(hold.amount_minor)
    .bind(&hold.currency)
    .execute(sim)
    .await
    .unwrap_or_else(|e| panic!("record approved charge {reference}: {e}"));
}

async fn payment_state(data_dir: &Path, id: &str) -> String {
    let mut db = open_ro(&admit_db(data_dir)).await;
    sqlx::query_scalar("SELECT state FROM payments WHERE id = ?")
        .bind(id)
        .fetch_one(&mut db)
        .await
        .unwrap_or_else(|e| panic!("read payment {id}: {e}"))
}

async fn gateway_refunded(data_dir: &Path, reference: &str) -> bool {
    let mut sim = open_ro(&sim_db(data_dir)).await;
    let refunded: i64 = sqlx::query_scalar("SELECT refunded FROM sim_charges WHERE reference = ?")
        .bind(reference)
        .fetch_one(&mut sim)
        .await
        .unwrap_or_else(|e| panic!("read charge {reference}: {e}"));
    refunded == 1
}

/// Waits for the reconciler to move a payment out of `from`; returns the new state.
async fn settled_state(data_dir: &Path, id: &str, from: &str) -> String {
    eventually(&format!("payment {id} to leave '{from}'"), Duration::from_secs(10), || async move {
        Some(payment_state(data_dir, id).await).filter(|s| s != from)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_between_charge_and_issue_is_repaired_on_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::demo(dir.path(), &[]);
    let http = client();
    // Crashed after the gateway approved, before the tickets were issued.
    let charged = hold(&http, &server.base, 1, 1, 2).await;
    // Crashed after recording the attempt, before the gateway was asked.
    let uncharged = hold(&http, &server.base, 1, 2, 1).await;
    // The buyer was told "timed out", but the gateway charged anyway.
    let late = hold(&http, &server.base, 1, 3, 1).await;
    server.sigkill();

    let long_ago = now_ms() - 10_000;
    {
        let mut db = open_rw(&admit_db(dir.path())).await;
        let mut sim = open_rw(&sim_db(dir.path())).await;
        record_attempt(&mut db, "crash-charged", &charged, "pending", long_ago).await;
        record_charge(&mut sim, "crash-charged", &charged).await;
        record_attempt(&mut db, "crash-uncharged", &uncharged, "pending", long_ago).await;
        record_attempt(&mut db, "crash-late", &late, "timed_out", long_ago).await;
        record_charge(&mut sim, "crash-late", &late).await;
        db.close().await.expect("close admit.db");
        sim.close().await.expect("close payments-sim.db");
    }

    let mut server = Server::serve(dir.path(), &[]);
    let (http, base) = (&http, server.base.as_str());

    // The approved charge becomes an order with its tickets, without the buyer doing anything.
    let hold_url = format!("{base}/holds/{}", charged.id);
    let order_id = eventually("the charged hold to become an order", Duration::from_secs(10), || {
        let url = hold_url.as_str();
        async move { get_ok(http, url).await["order_id"].as_str().map(str::to_owned) }
    })
    .await;
    let order = get_ok(http, &format!("{base}/orders/{order_id}")).await;
    assert_eq!(order["state"], "paid", "{order}");
    assert_eq!(order["hold_id"], charged.id.as_str(), "{order}");
    let tickets = order["tickets"].as_array().expect("tickets");
    assert_eq!(tickets.len(), charged.units, "the repaired order has one ticket per held seat: {order}");
    assert!(tickets.iter().all(|t| t["status"] == "valid"), "{order}");
    assert_eq!(get_ok(http, &hold_url).await["state"], "converted");
    assert_eq!(payment_state(dir.path(), "crash-charged").await, "approved");
    assert!(!gateway_refunded(dir.path(), "crash-charged").await, "a repaired order must not also be refunded");

    // The attempt the gateway never saw is declined, and the hold can still be paid.
    assert_eq!(settled_state(dir.path(), "crash-uncharged", "pending").await, "declined");
    assert_eq!(get_ok(http, &format!("{base}/holds/{}", uncharged.id)).await["state"], "active");
    let (status, paid_later) =
        post(http, &format!("{base}/holds/{}/payments", uncharged.id), &approving_card()).await.expect("pay again");
    assert_eq!(status, 201, "paying the hold whose first attempt never reached the gateway: {paid_later}");

    // The charge the buyer was told had timed out is refunded; the hold stays payable.
    assert_eq!(settled_state(dir.path(), "crash-late", "timed_out").await, "refunded");
    assert!(gateway_refunded(dir.path(), "crash-late").await, "the gateway must have refunded crash-late");
    let late_hold = get_ok(http, &format!("{base}/holds/{}", late.id)).await;
    assert_eq!(late_hold["state"], "active", "{late_hold}");
    assert!(late_hold["order_id"].is_null(), "{late_hold}");

    server.sigkill();
    let summary = check_invariants(dir.path(), &[Acked::from_order(&order), Acked::from_order(&paid_later)]).await;
    assert_eq!((summary.orders, summary.approved_charges, summary.refunded_charges), (2, 3, 1), "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_charge_for_a_hold_that_expired_meanwhile_is_refunded_on_restart() {
    let short_holds = [("ADMIT_HOLD_TTL_SECS", "1")];
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::demo(dir.path(), &short_holds);
    let http = client();
    let held = hold(&http, &server.base, 1, 1, 2).await;
    assert_eq!(held.seat_ids.len(), 2, "{held:?}");
    server.sigkill();

    {
        let mut db = open_rw(&admit_db(dir.path())).await;
        let mut sim = open_rw(&sim_db(dir.path())).await;
        record_attempt(&mut db, "crash-expired", &held, "pending", now_ms() - 10_000).await;
        record_charge(&mut sim, "crash-expired", &held).await;
        db.close().await.expect("close admit.db");
        sim.close().await.expect("close payments-sim.db");
    }
    // The server stays down past the hold's expiry.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut server = Server::serve(dir.path(), &short_holds);
    assert_eq!(settled_state(dir.path(), "crash-expired", "pending").await, "refunded");
    assert!(gateway_refunded(dir.path(), "crash-expired").await, "the gateway must have refunded crash-expired");
    let after = get_ok(&http, &format!("{}/holds/{}", server.base, held.id)).await;
    assert_eq!(after["state"], "expired", "{after}");
    assert!(after["order_id"].is_null(), "{after}");
    let seats = held.seat_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let dir_path = dir.path();
    eventually("the expired hold's seats to return to sale", Duration::from_secs(10), || {
        let seats = seats.as_str();
        async move {
            let mut db = open_ro(&admit_db(dir_path)).await;
            let taken: i64 =
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM seats WHERE id IN ({seats}) AND state != 'free'"))
                    .fetch_one(&mut db)
                    .await
                    .expect("read seats");
            (taken == 0).then_some(())
        }
    })
    .await;

    server.sigkill();
    let summary = check_invariants(dir.path(), &[]).await;
    assert_eq!((summary.orders, summary.valid_tickets), (0, 0), "no tickets for a refunded payment: {summary:?}");
    assert_eq!(summary.payments_by_state, vec![("refunded".to_owned(), 1)], "{summary:?}");

    // The checker itself is not blind: undo the refund at the gateway, mark a seat sold with no
    // ticket, and claim an order nobody made — each must be reported.
    {
        let mut db = open_rw(&admit_db(dir.path())).await;
        let mut sim = open_rw(&sim_db(dir.path())).await;
        sqlx::query("UPDATE sim_charges SET refunded = 0 WHERE reference = 'crash-expired'")
            .execute(&mut sim)
            .await
            .expect("sabotage the refund");
        sqlx::query("UPDATE seats SET state = 'sold', hold_id = ? WHERE id = ?")
            .bind(&held.id)
            .bind(held.seat_ids.first().copied())
            .execute(&mut db)
            .await
            .expect("sabotage a seat");
        db.close().await.expect("close admit.db");
        sim.close().await.expect("close payments-sim.db");
    }
    let ghost = Acked { order_id: "ghost".into(), hold_id: held.id.clone(), ticket_ids: [7].into() };
    let (found, _) = violations(dir.path(), &[ghost]).await;
    for expected in [
        "approved charge crash-expired",
        "is 'refunded' in admit.db but the gateway says",
        "sold seat without exactly one valid ticket",
        "sold seat whose hold is not converted",
        "disagree with the seats",
        "acknowledged order ghost",
    ] {
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "the checker missed '{expected}'; it reported:\n{}",
            found.join("\n")
        );
    }
}
