//! Invariant 1 under load: hundreds of buyers race for fewer seats (or units) than there are
//! buyers, through the real HTTP stack. Exactly the capacity is sold, nothing twice, every
//! loser gets a clean sold-out problem, and no hold is left behind.

mod support;

use admit_domain::{GradeId, PaymentState, SessionId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::fixtures::{Layout, now_ms};
use support::{Config, TestApp, card_body, cards, json_body};

/// How one buyer fared.
#[derive(Debug)]
enum Outcome {
    Bought(Value),
    SoldOut,
    Unexpected(String),
}

/// One buyer: hold one seat or unit, pay for it.
async fn buy_one(client: reqwest::Client, base: String, session: SessionId, grade: GradeId) -> Outcome {
    let body = json!({ "session_id": session.0, "grade_id": grade.0, "quantity": 1 });
    let hold = match client.post(format!("{base}/holds")).json(&body).send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Unexpected(format!("hold request failed: {e}")),
    };
    let status = hold.status();
    let content_type = hold.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
    let hold: Value = match hold.json().await {
        Ok(v) => v,
        Err(e) => return Outcome::Unexpected(format!("hold answer {status} is not JSON: {e}")),
    };
    if status == StatusCode::CONFLICT
        && content_type.as_deref() == Some("application/problem+json")
        && hold["type"] == "/problems/sold-out"
        && hold["alternatives"].is_array()
    {
        return Outcome::SoldOut;
    }
    if status != StatusCode::CREATED {
        return Outcome::Unexpected(format!("hold: {status} {hold}"));
    }
    let url = format!("{base}/holds/{}/payments", hold["id"].as_str().unwrap_or_default());
    match client.post(url).json(&card_body(cards::APPROVED)).send().await {
        Ok(r) if r.status() == StatusCode::CREATED => match r.json().await {
            Ok(order) => Outcome::Bought(order),
            Err(e) => Outcome::Unexpected(format!("order is not JSON: {e}")),
        },
        Ok(r) => Outcome::Unexpected(format!("pay: {} {}", r.status(), r.text().await.unwrap_or_default())),
        Err(e) => Outcome::Unexpected(format!("pay request failed: {e}")),
    }
}

/// Starts `buyers` buyers at once and returns every order; asserts every loser was sold out.
async fn race(app: &TestApp, session: SessionId, grade: GradeId, buyers: usize) -> Vec<Value> {
    let started = Instant::now();
    let tasks: Vec<_> =
        (0..buyers).map(|_| tokio::spawn(buy_one(app.client.clone(), app.base_url.clone(), session, grade))).collect();
    let mut orders = Vec::new();
    let mut unexpected = Vec::new();
    for task in tasks {
        match task.await.expect("buyer task") {
            Outcome::Bought(order) => orders.push(order),
            Outcome::SoldOut => {}
            Outcome::Unexpected(what) => unexpected.push(what),
        }
    }
    eprintln!("{buyers} buyers finished in {:?}", started.elapsed());
    assert!(
        unexpected.is_empty(),
        "{} buyers got something else than an order or sold-out: {unexpected:#?}",
        unexpected.len()
    );
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    orders
}

/// No hold is active any more: a sweep as of the far future releases nothing.
async fn assert_no_active_holds(app: &TestApp) {
    let leaked = app.store.expire_holds(now_ms() + 365 * 24 * 3_600_000).await.expect("sweep");
    assert_eq!(leaked, 0, "holds left active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_buyers_race_for_a_hundred_seats_and_each_seat_is_sold_once() {
    let layout = Layout { s: (4, 25), ..Layout::default() };
    let app = TestApp::spawn_with(Config { layout, ..Config::default() }).await;
    let (s1, s2, grade) = (app.concert.sessions[0], app.concert.sessions[1], app.concert.s);
    assert_eq!(app.counts(s1, grade).await, (0, 0, 100));

    let orders = race(&app, s1, grade, 500).await;

    assert_eq!(orders.len(), 100);
    let sold: Vec<&str> = orders.iter().map(|o| o["tickets"][0]["seat"].as_str().expect("seat label")).collect();
    assert!(orders.iter().all(|o| o["tickets"].as_array().map(Vec::len) == Some(1)));
    assert_eq!(sold.iter().collect::<BTreeSet<_>>().len(), 100, "100 distinct seats");
    assert_eq!(app.counts(s1, grade).await, (0, 100, 0));
    assert_eq!(app.counts(s2, grade).await, (0, 0, 100), "the other session is untouched");
    let seats = app.seats(s1).await;
    assert!(seats.iter().filter(|s| s["grade_id"] == grade.0).all(|s| s["state"] == "sold"));
    assert!(seats.iter().all(|s| s["state"] != "held"), "no seat left held");

    let manifest = app.manifest(s1, &app.organiser.gate_token).await;
    assert_eq!(manifest.len(), 100);
    let manifest_seats: BTreeSet<&str> = manifest.iter().map(|r| r["seat"].as_str().expect("seat")).collect();
    assert_eq!(manifest_seats.len(), 100, "each seat is in at most one ticket");
    assert_eq!(manifest_seats, sold.into_iter().collect::<BTreeSet<_>>());
    let references: BTreeSet<&str> = manifest.iter().map(|r| r["reference"].as_str().unwrap()).collect();
    assert_eq!(references.len(), 100);
    assert_no_active_holds(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_buyers_race_for_a_quota_of_a_hundred_and_twenty_units() {
    let layout = Layout { ga_quota: 120, ..Layout::default() };
    let app = TestApp::spawn_with(Config { layout, ..Config::default() }).await;
    let (session, grade) = (app.festival.session, app.festival.ga);

    let orders = race(&app, session, grade, 300).await;

    assert_eq!(orders.len(), 120);
    assert_eq!(app.counts(session, grade).await, (0, 120, 0));
    let manifest = app.manifest(session, &app.organiser.gate_token).await;
    assert_eq!(manifest.len(), 120);
    assert!(manifest.iter().all(|r| r["grade"] == "GA" && r["seat"].is_null()));
    let tickets: BTreeSet<&str> = orders.iter().map(|o| o["tickets"][0]["id"].as_str().unwrap()).collect();
    assert_eq!(tickets.len(), 120);
    assert_no_active_holds(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_buyers_asking_for_the_same_seat_leave_it_held_once() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    let seat = app.seat_ids(s1, vip).await[0];

    let tasks: Vec<_> =
        (0..50).map(|_| app.spawn_post("/holds", json!({ "session_id": s1.0, "seat_ids": [seat] }), None)).collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task").expect("response").status());
    }

    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 49, "{statuses:?}");
    assert_eq!(app.counts(s1, vip).await, (1, 0, 11));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_and_cancelling_a_hold_at_once_never_leaves_money_without_tickets() {
    let app = TestApp::spawn().await;
    let (s1, grade) = (app.concert.sessions[0], app.concert.s);
    let (mut paid, mut refunded) = (0, 0);

    for round in 0..20u64 {
        let hold = json_body(app.hold_best(s1, grade, 1).await, StatusCode::CREATED).await;
        let id = hold["id"].as_str().unwrap().to_owned();
        let pay = app.spawn_post(&format!("/holds/{id}/payments"), card_body(cards::APPROVED), None);
        // Cancel a little later each round, so it lands before, during and after the payment.
        let cancel = app.client.delete(app.url(&format!("/holds/{id}"))).send();
        let cancel = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros(round * 400)).await;
            cancel.await
        });
        let (pay, cancel) = (pay.await.unwrap().unwrap(), cancel.await.unwrap().unwrap());

        let (pay_status, cancel_status) = (pay.status(), cancel.status());
        let pay_body: Value = pay.json().await.unwrap();
        let state = json_body(app.get(&format!("/holds/{id}")).await, StatusCode::OK).await["state"].clone();
        match (pay_status, cancel_status) {
            (StatusCode::CREATED, StatusCode::CONFLICT) => {
                assert_eq!(state, "converted");
                paid += 1;
            }
            (StatusCode::CONFLICT, StatusCode::OK) => {
                assert_eq!(pay_body["type"], "/problems/hold-released", "{pay_body}");
                refunded += usize::from(pay_body["refunded"] == true);
                assert_eq!(state, "released");
            }
            other => panic!("pay and cancel both won or both lost: {other:?}: {pay_body}"),
        }
    }

    eprintln!("pay won {paid} of 20 races with cancel, {refunded} approved too late and refunded");
    let payments = app.payments().await;
    let approved: Vec<_> = payments.iter().filter(|p| p.state == PaymentState::Approved).collect();
    assert_eq!(approved.len(), paid, "every approved payment has its order");
    for p in payments.iter().filter(|p| p.state == PaymentState::Refunded) {
        assert!(app.gateway.was_refunded(&p.id).await.unwrap(), "refund recorded at the gateway: {p:?}");
    }
    assert_eq!(payments.iter().filter(|p| p.state == PaymentState::Refunded).count(), refunded);
    assert!(payments.iter().all(|p| p.state != PaymentState::Pending), "{payments:?}");
    assert_eq!(app.counts(s1, grade).await, (0, paid as u64, 20 - paid as u64));
    assert_no_active_holds(&app).await;
}
