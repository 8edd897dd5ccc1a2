//! Crash windows repaired on restart (DESIGN.md §4, invariant 2), on SQLite and PostgreSQL.
//!
//! Each test stops the node with SIGKILL, writes into Admit's tables and the simulator's ledger
//! exactly what a crash at one precise moment leaves behind (an attempt recorded before the
//! gateway was asked; a charge approved but no tickets issued; a charge approved after the
//! buyer was told it timed out; a charge approved for a hold that then expired), restarts
//! `admit serve` on the same data, and checks the reconciler settles each one correctly. The
//! last test also proves the invariant checker is not blind.

#[allow(dead_code, reason = "each test binary uses its own part of the shared support")]
mod support;

use std::time::Duration;
use support::db::Db;
use support::deployment::Deployment;
use support::http::{Acked, HeldSeats, approving_card, client, eventually, get_ok, hold, now_ms, post};
use support::invariants::{check_invariants, violations};

/// Writes the payment attempt exactly as `purchase::pay` does before it calls the gateway.
async fn record_attempt(db: &mut Db, id: &str, hold: &HeldSeats, state: &str, at_ms: i64) {
    db.execute(
        "INSERT INTO payments (id, hold_id, gateway, amount_minor, currency, method, state, created_at, updated_at)
         VALUES (?, ?, 'card-simulator', ?, ?, 'card **** 4242', ?, ?, ?)",
        &[
            id.into(),
            (&hold.id).into(),
            hold.amount_minor.into(),
            (&hold.currency).into(),
            state.into(),
            at_ms.into(),
            at_ms.into(),
        ],
    )
    .await;
}

/// Writes an approved charge exactly as the card simulator records one.
async fn record_charge(ledger: &mut Db, reference: &str, hold: &HeldSeats) {
    ledger
        .execute(
            "INSERT INTO sim_charges (reference, amount_minor, currency, last4, outcome, authorization)
             VALUES (?, ?, ?, '4242', 'approved', 'sim_test')",
            &[reference.into(), hold.amount_minor.into(), (&hold.currency).into()],
        )
        .await;
}

async fn payment_state(deployment: &Deployment, id: &str) -> String {
    deployment.admit_db().await.scalar("SELECT state FROM payments WHERE id = ?", &[id.into()]).await
}

async fn gateway_refunded(deployment: &Deployment, reference: &str) -> bool {
    let sql = "SELECT refunded FROM sim_charges WHERE reference = ?";
    deployment.ledger().await.scalar::<i64>(sql, &[reference.into()]).await == 1
}

/// Waits for the reconciler to move a payment out of `from`; returns the new state.
async fn settled_state(deployment: &Deployment, id: &str, from: &str) -> String {
    eventually(&format!("payment {id} to leave '{from}'"), Duration::from_secs(10), || async move {
        Some(payment_state(deployment, id).await).filter(|s| s != from)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_between_charge_and_issue_is_repaired_on_restart() {
    between_charge_and_issue(&Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_postgres_node_between_charge_and_issue_is_repaired_on_restart() {
    let Some(deployment) = Deployment::postgres() else { return };
    between_charge_and_issue(&deployment).await;
}

async fn between_charge_and_issue(deployment: &Deployment) {
    let mut server = deployment.demo(&[]);
    let http = client();
    // Crashed after the gateway approved, before the tickets were issued.
    let charged = hold(&http, &server.base, 1, 1, 2).await;
    // Crashed after recording the attempt, before the gateway was asked.
    let uncharged = hold(&http, &server.base, 1, 2, 1).await;
    // The buyer was told "timed out", but the gateway charged anyway.
    let late = hold(&http, &server.base, 1, 3, 1).await;
    server.sigkill();

    let long_ago = now_ms() - 10_000;
    let mut db = deployment.admit_db_writable().await;
    let mut ledger = deployment.ledger_writable().await;
    record_attempt(&mut db, "crash-charged", &charged, "pending", long_ago).await;
    record_charge(&mut ledger, "crash-charged", &charged).await;
    record_attempt(&mut db, "crash-uncharged", &uncharged, "pending", long_ago).await;
    record_attempt(&mut db, "crash-late", &late, "timed_out", long_ago).await;
    record_charge(&mut ledger, "crash-late", &late).await;
    db.close().await;
    ledger.close().await;

    let mut server = deployment.serve(&[]);
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
    assert_eq!(payment_state(deployment, "crash-charged").await, "approved");
    assert!(!gateway_refunded(deployment, "crash-charged").await, "a repaired order must not also be refunded");

    // The attempt the gateway never saw is declined, and the hold can still be paid.
    assert_eq!(settled_state(deployment, "crash-uncharged", "pending").await, "declined");
    assert_eq!(get_ok(http, &format!("{base}/holds/{}", uncharged.id)).await["state"], "active");
    let (status, paid_later) =
        post(http, &format!("{base}/holds/{}/payments", uncharged.id), &approving_card()).await.expect("pay again");
    assert_eq!(status, 201, "paying the hold whose first attempt never reached the gateway: {paid_later}");

    // The charge the buyer was told had timed out is refunded; the hold stays payable.
    assert_eq!(settled_state(deployment, "crash-late", "timed_out").await, "refunded");
    assert!(gateway_refunded(deployment, "crash-late").await, "the gateway must have refunded crash-late");
    let late_hold = get_ok(http, &format!("{base}/holds/{}", late.id)).await;
    assert_eq!(late_hold["state"], "active", "{late_hold}");
    assert!(late_hold["order_id"].is_null(), "{late_hold}");

    server.sigkill();
    let summary = check_invariants(deployment, &[Acked::from_order(&order), Acked::from_order(&paid_later)]).await;
    assert_eq!((summary.orders, summary.approved_charges, summary.refunded_charges), (2, 3, 1), "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_charge_for_a_hold_that_expired_meanwhile_is_refunded_on_restart() {
    charge_for_an_expired_hold(&Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_approved_charge_for_a_hold_that_expired_meanwhile_is_refunded_on_restart() {
    let Some(deployment) = Deployment::postgres() else { return };
    charge_for_an_expired_hold(&deployment).await;
}

async fn charge_for_an_expired_hold(deployment: &Deployment) {
    let short_holds = [("ADMIT_HOLD_TTL_SECS", "1")];
    let mut server = deployment.demo(&short_holds);
    let http = client();
    let held = hold(&http, &server.base, 1, 1, 2).await;
    assert_eq!(held.seat_ids.len(), 2, "{held:?}");
    server.sigkill();

    let mut db = deployment.admit_db_writable().await;
    let mut ledger = deployment.ledger_writable().await;
    record_attempt(&mut db, "crash-expired", &held, "pending", now_ms() - 10_000).await;
    record_charge(&mut ledger, "crash-expired", &held).await;
    db.close().await;
    ledger.close().await;
    // The server stays down past the hold's expiry.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut server = deployment.serve(&short_holds);
    assert_eq!(settled_state(deployment, "crash-expired", "pending").await, "refunded");
    assert!(gateway_refunded(deployment, "crash-expired").await, "the gateway must have refunded crash-expired");
    let after = get_ok(&http, &format!("{}/holds/{}", server.base, held.id)).await;
    assert_eq!(after["state"], "expired", "{after}");
    assert!(after["order_id"].is_null(), "{after}");
    let seats = held.seat_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let taken = format!("SELECT COUNT(*) FROM seats WHERE id IN ({seats}) AND state != 'free'");
    eventually("the expired hold's seats to return to sale", Duration::from_secs(10), || {
        let taken = taken.as_str();
        async move { (deployment.admit_db().await.scalar::<i64>(taken, &[]).await == 0).then_some(()) }
    })
    .await;

    server.sigkill();
    let summary = check_invariants(deployment, &[]).await;
    assert_eq!((summary.orders, summary.valid_tickets), (0, 0), "no tickets for a refunded payment: {summary:?}");
    assert_eq!(summary.payments_by_state, vec![("refunded".to_owned(), 1)], "{summary:?}");

    // The checker itself is not blind: undo the refund at the gateway, mark a seat sold with no
    // ticket, and claim an order nobody made — each must be reported.
    let mut db = deployment.admit_db_writable().await;
    let mut ledger = deployment.ledger_writable().await;
    ledger.execute("UPDATE sim_charges SET refunded = 0 WHERE reference = 'crash-expired'", &[]).await;
    let seat = *held.seat_ids.first().expect("a held seat");
    db.execute("UPDATE seats SET state = 'sold', hold_id = ? WHERE id = ?", &[(&held.id).into(), seat.into()]).await;
    db.close().await;
    ledger.close().await;
    let ghost = Acked { order_id: "ghost".into(), hold_id: held.id.clone(), ticket_ids: [7].into() };
    let (found, _) = violations(deployment, &[ghost]).await;
    for expected in [
        "approved charge crash-expired",
        "is 'refunded' in Admit's data but the gateway says",
        "sold seat without exactly one valid ticket",
        "sold seat whose hold is not converted",
        "disagree with the seats",
        "acknowledged order ghost",
    ] {
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "the checker missed '{expected}' on {}; it reported:\n{}",
            deployment.describe(),
            found.join("\n")
        );
    }
}
