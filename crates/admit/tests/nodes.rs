//! Several stateless `admit serve` nodes on one PostgreSQL database (DESIGN.md §3, §4).
//!
//! Three real `admit` processes share one scratch database and one card-simulator ledger (as
//! they would share a payment provider); node `a` seeds the demo, `b` and `c` only serve. The
//! tests prove what one node cannot: a crowd spread over the nodes sells exactly the capacity
//! and no seat twice, every order a buyer was shown reads the same on every node, one
//! single-entry ticket scanned at all three at once admits once, and a waiting-room place and
//! admission pass from one node hold on the others.

#[allow(dead_code, reason = "each test binary uses its own part of the shared support")]
mod support;

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use support::browser::{Browser, standing};
use support::crowd::{Crowd, spawn_buyers};
use support::demo::{
    CONCERT_TONIGHT, EARLY, R, VIP, availability, event_of_kind, festival_session, gates_of, organiser_of,
};
use support::deployment::Deployment;
use support::http::{Acked, approving_card, client, get_ok, hold, post, problem_slug, send};
use support::invariants::check_invariants;
use support::settle::wait_until_settled;

const NODES: [&str; 3] = ["a", "b", "c"];
/// Concurrent buyers in the crowd, spread round-robin over the nodes.
const BUYERS: usize = 300;
/// Three nodes charge through one SQLite ledger, so a payment may wait for the gateway longer
/// than the crash tests allow; a hold abandoned anyway returns to sale within 30 s.
const SALE_ENV: &[(&str, &str)] = &[("ADMIT_PAYMENT_TIMEOUT_MS", "10000"), ("ADMIT_HOLD_TTL_SECS", "30")];
const SELL_OUT_TIMEOUT: Duration = Duration::from_secs(90);

fn bases(nodes: &[support::process::Server]) -> Vec<String> {
    nodes.iter().map(|n| n.base.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_on_three_nodes_sells_exactly_the_capacity_and_never_a_seat_twice() {
    let Some(deployment) = Deployment::postgres() else { return };
    let mut nodes = deployment.cluster(&NODES, SALE_ENV);
    let bases = bases(&nodes);
    let http = client();
    let festival = festival_session(&deployment).await;
    let grades = [(CONCERT_TONIGHT, R, "R"), (festival, EARLY, "EARLY")];
    let mut capacity = Vec::new();
    for (session, grade, _) in grades {
        capacity.push(availability(&http, &bases[0], session, grade).await.0);
    }

    // Act: the crowd buys one reserved grade and one general-admission grade until both are gone.
    let crowd = Arc::new(Crowd::default());
    let targets = grades.iter().map(|(session, grade, _)| (*session, *grade)).collect();
    let buyers = spawn_buyers(BUYERS, bases.clone(), targets, &crowd);
    let started = Instant::now();
    loop {
        let mut sold_out = true;
        for ((session, grade, _), total) in grades.iter().zip(&capacity) {
            sold_out &= availability(&http, &bases[0], *session, *grade).await.2 == *total;
        }
        if sold_out {
            break;
        }
        assert!(
            started.elapsed() < SELL_OUT_TIMEOUT,
            "not sold out after {SELL_OUT_TIMEOUT:?}: {} holds, {} orders, {} sold-out answers, {} gateway time-outs; \
             unexpected answers: {:?}",
            crowd.holds.load(Relaxed),
            crowd.orders.load(Relaxed),
            crowd.sold_out.load(Relaxed),
            crowd.timeouts.load(Relaxed),
            crowd.unexpected_answers()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sale_time = started.elapsed();
    crowd.stop.store(true, Relaxed);
    for b in buyers {
        tokio::time::timeout(Duration::from_secs(30), b)
            .await
            .expect("a buyer did not stop")
            .expect("a buyer panicked");
    }
    let acked = crowd.acked();
    eprintln!(
        "sold out in {sale_time:?}: {} holds, {} orders ({:?} by node), {} sold-out answers, {} gateway time-outs",
        crowd.holds.load(Relaxed),
        acked.len(),
        crowd.orders_by_node().values().collect::<Vec<_>>(),
        crowd.sold_out.load(Relaxed),
        crowd.timeouts.load(Relaxed)
    );
    let unexpected = crowd.unexpected_answers();
    assert!(unexpected.is_empty(), "answers no buyer should get:\n{}", unexpected.join("\n"));
    let by_node = crowd.orders_by_node();
    assert!(bases.iter().all(|b| by_node.get(b).is_some_and(|n| *n > 0)), "every node took payments: {by_node:?}");

    // Every order a buyer was shown reads the same on every node.
    let mut sold: Vec<(i64, String, Option<String>)> = Vec::new();
    for a in &acked {
        // Every read mints its own one-time login link; everything else must be identical.
        let without_link = |mut order: serde_json::Value| {
            order.as_object_mut().expect("an order object").remove("login_url");
            order
        };
        let order = without_link(get_ok(&http, &format!("{}/orders/{}", bases[0], a.order_id)).await);
        assert_eq!(Acked::from_order(&order).ticket_ids, a.ticket_ids, "order {} lost tickets", a.order_id);
        for base in &bases[1..] {
            let elsewhere = without_link(get_ok(&http, &format!("{base}/orders/{}", a.order_id)).await);
            assert_eq!(elsewhere, order, "order {} reads differently on {base}", a.order_id);
        }
        for t in order["tickets"].as_array().expect("tickets") {
            let session = t["session_id"].as_i64().expect("ticket session");
            sold.push((session, t["grade"].as_str().expect("grade").to_owned(), t["seat"].as_str().map(str::to_owned)));
        }
    }

    // Exactly the capacity sold, no seat twice, and every node counts the same.
    for ((session, grade, code), total) in grades.iter().zip(&capacity) {
        let tickets: Vec<_> = sold.iter().filter(|(s, g, _)| s == session && g == code).collect();
        assert_eq!(tickets.len() as i64, *total, "{code}: tickets in acknowledged orders vs capacity");
        if *grade == R {
            let seats: BTreeSet<_> =
                tickets.iter().map(|(_, _, seat)| seat.clone().expect("a reserved seat")).collect();
            assert_eq!(seats.len(), tickets.len(), "{code}: a seat was sold twice");
        }
        for base in &bases {
            let counts = availability(&http, base, *session, *grade).await;
            assert_eq!(counts, (*total, 0, *total, 0), "{code} on {base}: (total, held, sold, remaining)");
            let (status, body) = post(
                &http,
                &format!("{base}/holds"),
                &json!({ "session_id": session, "grade_id": grade, "quantity": 1 }),
            )
            .await
            .expect("POST /holds");
            assert_eq!((status, problem_slug(&body)), (409, "sold-out"), "{code} on {base}: {body}");
        }
    }
    assert_eq!(sold.len() as i64, capacity.iter().sum::<i64>(), "tickets outside the two grades on sale");

    wait_until_settled(&deployment, Duration::from_secs(15)).await;
    for node in &mut nodes {
        node.sigkill();
    }
    let summary = check_invariants(&deployment, &acked).await;
    assert_eq!(summary.orders, acked.len(), "every order was shown to its buyer: {summary:?}");
    assert_eq!(summary.valid_tickets, sold.len() as i64, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_entry_ticket_scanned_at_three_nodes_at_once_is_admitted_exactly_once() {
    const SCANS_PER_NODE: usize = 4;
    let Some(deployment) = Deployment::postgres() else { return };
    let nodes = deployment.cluster(&NODES, &[]);
    let bases = bases(&nodes);
    let http = client();
    let held = hold(&http, &bases[0], CONCERT_TONIGHT, VIP, 3).await;
    let (status, order) = post(&http, &format!("{}/holds/{}/payments", bases[1], held.id), &approving_card())
        .await
        .expect("pay on node b for a hold made on node a");
    assert_eq!(status, 201, "{order}");
    let gates = gates_of(&deployment, 1).await;
    let token = Arc::new(deployment.staff_token(organiser_of(&deployment, 1).await, "gate"));

    for ticket in order["tickets"].as_array().expect("tickets") {
        assert_eq!(ticket["max_entries"], 1, "{ticket}");
        let credential = ticket["credential"].as_str().expect("credential").to_owned();
        let scans: Vec<_> = (0..NODES.len() * SCANS_PER_NODE)
            .map(|i| {
                let body = json!({ "credential": credential, "gate_id": gates[i % gates.len()], "session_id": CONCERT_TONIGHT });
                let request = http.post(format!("{}/gate/scans", bases[i % bases.len()])).bearer_auth(token.as_str());
                tokio::spawn(send(request.json(&body)))
            })
            .collect();
        let mut verdicts: Vec<Value> = Vec::new();
        for scan in scans {
            let (status, verdict) = scan.await.expect("a scan task panicked").expect("POST /gate/scans");
            assert_eq!(status, 200, "{verdict}");
            verdicts.push(verdict);
        }
        let admitted = verdicts.iter().filter(|v| v["verdict"] == "admit").count();
        assert_eq!(admitted, 1, "ticket {}: {verdicts:#?}", ticket["id"]);
        for v in verdicts.iter().filter(|v| v["verdict"] != "admit") {
            assert_eq!((&v["verdict"], &v["reason"]), (&json!("deny"), &json!("already_used")), "{v}");
        }
        let id: i64 = ticket["id"].as_str().and_then(|s| s.parse().ok()).expect("ticket id");
        let mut db = deployment.admit_db().await;
        let used: i64 = db.scalar("SELECT entries_used FROM tickets WHERE id = ?", &[id.into()]).await;
        let admits: i64 =
            db.scalar("SELECT COUNT(*) FROM scans WHERE ticket_id = ? AND verdict = 'admit'", &[id.into()]).await;
        assert_eq!((used, admits), (1, 1), "ticket {id}: (entries used, admitting scans) in the database");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_room_place_and_pass_from_one_node_hold_on_the_others() {
    let Some(deployment) = Deployment::postgres() else { return };
    let nodes = deployment.cluster(&NODES, &[]);
    let (a, b, c) = (&nodes[0].base, &nodes[1].base, &nodes[2].base);
    let http = client();
    let train = event_of_kind(&http, a, "train").await;
    let event = train["id"].as_i64().expect("event id");
    let (session, grade) =
        (train["sessions"][0]["id"].as_i64().expect("session"), train["grades"][0]["id"].as_i64().expect("grade"));
    let admin = deployment.staff_token(organiser_of(&deployment, event).await, "admin");

    // Node a switches the room on: open already, one buyer a minute, so the first arrival goes
    // straight in and the rest wait in line.
    let room = json!({ "opens_at": "2020-01-01T00:00:00Z", "admit_per_minute": 1, "pass_ttl_secs": 600 });
    let (status, body) = send(http.put(format!("{a}/events/{event}/waiting-room")).bearer_auth(&admin).json(&room))
        .await
        .expect("PUT waiting room");
    assert_eq!(status, 200, "{body}");
    let mut browsers: Vec<Browser> = (0..3).map(|_| Browser::new(&http)).collect();
    let mut entries = Vec::new();
    for browser in &mut browsers {
        let (status, entry) = browser.join(a, event).await;
        assert_eq!(status, 201, "a new place: {entry}");
        entries.push(entry);
    }
    assert_eq!(entries[0]["status"], "admitted", "{}", entries[0]);
    assert_eq!((&entries[1]["status"], &entries[1]["position"]), (&json!("waiting"), &json!(1)), "{}", entries[1]);
    assert_eq!((&entries[2]["status"], &entries[2]["position"]), (&json!("waiting"), &json!(2)), "{}", entries[2]);

    // The same place, and the same pass, on nodes b and c.
    let same =
        |s: &Value| json!([s["entry_id"], s["status"], s["position"], s["admission_pass"], s["pass_expires_at"]]);
    for entry in &entries {
        let on_a = same(&standing(&http, a, event, entry).await);
        for base in [b, c] {
            assert_eq!(same(&standing(&http, base, event, entry).await), on_a, "{entry} seen from {base}");
        }
    }
    // Joining again on another node with the cookie from node a keeps the place.
    let (status, again) = browsers[1].join(b, event).await;
    assert_eq!((status, same(&again)), (200, same(&entries[1])), "rejoining on node b: {again}");
    let (status, again) = browsers[2].join(c, event).await;
    assert_eq!((status, same(&again)), (200, same(&entries[2])), "rejoining on node c: {again}");

    // Node b enforces the room node a switched on, and accepts the pass node a issued.
    let request = json!({ "session_id": session, "grade_id": grade, "quantity": 1 });
    let (status, refused) = post(&http, &format!("{b}/holds"), &request).await.expect("POST /holds");
    assert_eq!((status, problem_slug(&refused)), (403, "admission-pass-required"), "{refused}");
    let pass = entries[0]["admission_pass"].as_str().expect("an admission pass");
    let (status, held) = send(http.post(format!("{b}/holds")).header("Admission-Pass", pass).json(&request))
        .await
        .expect("POST /holds with the pass");
    assert_eq!(status, 201, "node b refused node a's pass: {held}");
    let hold_id = held["id"].as_str().expect("hold id");
    let (status, order) =
        post(&http, &format!("{c}/holds/{hold_id}/payments"), &approving_card()).await.expect("pay on node c");
    assert_eq!(status, 201, "{order}");
}
