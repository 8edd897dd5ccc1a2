//! Paying for a hold: time-outs and declines keep the hold, invalid cards never reach the
//! gateway, a paid hold is never charged twice, and `Idempotency-Key` replays the first answer.

mod support;

use admit_domain::PaymentState;
use admit_payments::{CardDetails, PaymentGateway, PaymentMethod};
use admit_server::Settings;
use admit_store::NewPayment;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use support::fixtures::now_ms;
use support::{Config, TestApp, card_body, cards, created_hold, json_body, problem, without_login_url};

async fn approved(app: &TestApp) -> usize {
    app.payments().await.iter().filter(|p| p.state == PaymentState::Approved).count()
}

async fn vip_hold(app: &TestApp, quantity: u32) -> String {
    let hold = created_hold(app.hold_best(app.concert.sessions[0], app.concert.vip, quantity).await).await;
    hold["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_gateway_timeout_keeps_the_hold_and_a_retry_can_pay() {
    let settings = Settings { payment_timeout: Duration::from_millis(300), ..Settings::default() };
    let app = TestApp::spawn_with(Config { settings, gateway_hang: Duration::from_secs(2), ..Config::default() }).await;
    let hold_id = vip_hold(&app, 2).await;

    let started = Instant::now();
    let timed_out =
        problem(app.pay(&hold_id, cards::TIMEOUT).await, StatusCode::GATEWAY_TIMEOUT, "payment-timeout").await;

    assert!(started.elapsed() < Duration::from_millis(1_500), "gave up after {:?}", started.elapsed());
    assert_eq!(timed_out["hold_id"], hold_id.as_str());
    assert_eq!(json_body(app.get(&format!("/holds/{hold_id}")).await, StatusCode::OK).await["state"], "active");
    assert_eq!(app.counts(app.concert.sessions[0], app.concert.vip).await, (2, 0, 10));
    let order = json_body(app.pay(&hold_id, cards::APPROVED).await, StatusCode::CREATED).await;
    assert_eq!(order["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(approved(&app).await, 1);
}

#[tokio::test]
async fn stolen_and_expired_cards_are_declined_with_their_codes_and_the_hold_is_kept() {
    let app = TestApp::spawn().await;
    let hold_id = vip_hold(&app, 1).await;

    for (card, code) in [(cards::STOLEN, "stolen_card"), (cards::EXPIRED, "expired_card")] {
        let declined = problem(app.pay(&hold_id, card).await, StatusCode::PAYMENT_REQUIRED, "payment-declined").await;
        assert_eq!(declined["decline_code"], code);
        assert!(declined["hold_expires_at"].is_string(), "{declined}");
    }

    assert_eq!(json_body(app.get(&format!("/holds/{hold_id}")).await, StatusCode::OK).await["state"], "active");
    let recorded: Vec<(PaymentState, Option<String>)> =
        app.payments().await.into_iter().map(|p| (p.state, p.detail)).collect();
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|(state, _)| *state == PaymentState::Declined), "{recorded:?}");
    json_body(app.pay(&hold_id, cards::APPROVED).await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn an_invalid_card_is_refused_before_any_payment_is_recorded() {
    let app = TestApp::spawn().await;
    let hold_id = vip_hold(&app, 1).await;
    let path = format!("/holds/{hold_id}/payments");

    let luhn =
        problem(app.pay(&hold_id, cards::BAD_CHECK_DIGIT).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(luhn["detail"].as_str().unwrap().contains("check digit"), "{luhn}");
    for card in [
        json!({ "number": "4242", "exp_month": 12, "exp_year": 2034, "cvc": "123" }),
        json!({ "number": cards::APPROVED, "exp_month": 13, "exp_year": 2034, "cvc": "123" }),
        json!({ "number": cards::APPROVED, "exp_month": 12, "exp_year": 2034, "cvc": "12a" }),
    ] {
        let resp = app.post_json(&path, &json!({ "card": card })).await;
        problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }

    assert!(app.payments().await.is_empty(), "no payment attempt was recorded");
    assert_eq!(json_body(app.get(&format!("/holds/{hold_id}")).await, StatusCode::OK).await["state"], "active");
}

#[tokio::test]
async fn paying_an_already_paid_hold_returns_the_same_order_without_charging_again() {
    let app = TestApp::spawn().await;
    let hold_id = vip_hold(&app, 2).await;
    let first = json_body(app.pay(&hold_id, cards::APPROVED).await, StatusCode::CREATED).await;

    let again = json_body(app.pay(&hold_id, "5555555555554444").await, StatusCode::OK).await;

    assert_eq!(without_login_url(&again), without_login_url(&first));
    assert_ne!(again["login_url"], first["login_url"], "each confirmation has its own login link");
    assert_eq!(app.payments().await.len(), 1, "the second request charged nothing");
    problem(app.cancel(&hold_id).await, StatusCode::CONFLICT, "hold-paid").await;
    assert_eq!(app.counts(app.concert.sessions[0], app.concert.vip).await, (0, 2, 10), "cancelling sold nothing back");
}

#[tokio::test]
async fn paying_one_hold_from_many_requests_at_once_charges_exactly_once() {
    let app = TestApp::spawn().await;
    let hold_id = vip_hold(&app, 1).await;

    let path = format!("/holds/{hold_id}/payments");
    let attempts: Vec<_> = (0..8).map(|_| app.spawn_post(&path, card_body(cards::APPROVED), None)).collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.expect("task").expect("response").status());
    }

    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [StatusCode::CREATED, StatusCode::OK, StatusCode::CONFLICT].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(approved(&app).await, 1);
    let hold = json_body(app.get(&format!("/holds/{hold_id}")).await, StatusCode::OK).await;
    assert_eq!(hold["state"], "converted");
}

#[tokio::test]
async fn a_hold_past_its_expiry_cannot_be_paid_even_before_the_sweeper_runs() {
    let settings = Settings {
        hold_ttl: Duration::from_millis(300),
        sweep_interval: Duration::from_secs(3_600),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(Config { settings, ..Config::default() }).await;
    let hold_id = vip_hold(&app, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let refused = app.pay(&hold_id, cards::APPROVED).await;

    problem(refused, StatusCode::CONFLICT, "hold-expired").await;
    assert!(app.payments().await.is_empty(), "nothing was charged");
    assert_eq!(json_body(app.get(&format!("/holds/{hold_id}")).await, StatusCode::OK).await["state"], "expired");
}

#[tokio::test]
async fn payments_a_crash_left_open_are_settled_without_any_request() {
    let settings = Settings {
        payment_timeout: Duration::from_millis(300),
        reconcile_interval: Duration::from_millis(100),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(Config { settings, ..Config::default() }).await;
    let (charged, never_charged) = (vip_hold(&app, 2).await, vip_hold(&app, 1).await);
    // The crash: attempts recorded as pending, one of them approved at the gateway, no answer kept.
    let card = PaymentMethod::Card(CardDetails::parse(cards::APPROVED, 12, 2034, "123").unwrap());
    for (payment_id, hold_id) in [("crashed-charged", &charged), ("crashed-unseen", &never_charged)] {
        let amount = app.store.hold(hold_id).await.unwrap().total;
        let attempt = NewPayment {
            id: payment_id.into(),
            hold_id: hold_id.clone(),
            gateway: "card-simulator".into(),
            amount,
            method: "card **** 4242".into(),
            now_ms: now_ms() - 60_000,
        };
        app.store.begin_payment(attempt).await.unwrap();
        if payment_id == "crashed-charged" {
            app.gateway.charge(payment_id, amount, &card).await.unwrap();
        }
    }

    tokio::time::sleep(Duration::from_millis(1_000)).await;

    let hold = json_body(app.get(&format!("/holds/{charged}")).await, StatusCode::OK).await;
    assert_eq!(hold["state"], "converted", "{hold}");
    let order =
        json_body(app.get(&format!("/orders/{}", hold["order_id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!((&order["state"], order["tickets"].as_array().unwrap().len()), (&"paid".into(), 2));
    assert_eq!(app.store.payment("crashed-charged").await.unwrap().state, PaymentState::Approved);
    assert_eq!(app.store.payment("crashed-unseen").await.unwrap().state, PaymentState::Declined);
    json_body(app.pay(&never_charged, cards::APPROVED).await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn an_approved_charge_whose_ticket_cannot_be_signed_is_refunded_and_the_hold_released() {
    let app = TestApp::spawn().await;
    let (session, grade) = support::fixtures::one_seat_event(app.store.as_ref(), &app, &"X".repeat(80)).await;
    let hold = created_hold(app.hold_best(session, grade, 1).await).await;
    let hold_id = hold["id"].as_str().unwrap();

    let refused =
        problem(app.pay(hold_id, cards::APPROVED).await, StatusCode::INTERNAL_SERVER_ERROR, "tickets-not-issued").await;

    assert_eq!(refused["refunded"], true, "{refused}");
    let payments = app.payments().await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].state, PaymentState::Refunded, "{payments:?}");
    assert!(app.gateway.was_refunded(&payments[0].id).await.unwrap(), "the simulator's ledger shows the refund");
    assert_eq!(json_body(app.get(&format!("/holds/{hold_id}")).await, StatusCode::OK).await["state"], "released");
}

#[tokio::test]
async fn the_reconciler_refunds_an_unissuable_charge_and_still_settles_the_others() {
    let settings = Settings {
        payment_timeout: Duration::from_millis(300),
        reconcile_interval: Duration::from_millis(100),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(Config { settings, ..Config::default() }).await;
    let (session, grade) = support::fixtures::one_seat_event(app.store.as_ref(), &app, &"X".repeat(80)).await;
    let unissuable = created_hold(app.hold_best(session, grade, 1).await).await["id"].as_str().unwrap().to_owned();
    let fine = vip_hold(&app, 1).await;
    // The crash: both attempts recorded as pending and approved at the gateway, no answer kept.
    // The unissuable one is older, so the reconciler meets it first.
    let card = PaymentMethod::Card(CardDetails::parse(cards::APPROVED, 12, 2034, "123").unwrap());
    for (age, payment_id, hold_id) in [(120_000, "crashed-unissuable", &unissuable), (60_000, "crashed-fine", &fine)] {
        let amount = app.store.hold(hold_id).await.unwrap().total;
        let attempt = NewPayment {
            id: payment_id.into(),
            hold_id: hold_id.clone(),
            gateway: "card-simulator".into(),
            amount,
            method: "card **** 4242".into(),
            now_ms: now_ms() - age,
        };
        app.store.begin_payment(attempt).await.unwrap();
        app.gateway.charge(payment_id, amount, &card).await.unwrap();
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    while app.payments().await.iter().any(|p| p.state == PaymentState::Pending) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(app.store.payment("crashed-unissuable").await.unwrap().state, PaymentState::Refunded);
    assert!(app.gateway.was_refunded("crashed-unissuable").await.unwrap(), "the charge went back");
    assert_eq!(app.store.payment("crashed-fine").await.unwrap().state, PaymentState::Approved);
    let hold = json_body(app.get(&format!("/holds/{fine}")).await, StatusCode::OK).await;
    assert_eq!(hold["state"], "converted", "{hold}");
}

#[tokio::test]
async fn a_request_past_the_servers_time_limit_is_answered_with_a_problem() {
    let mut config = Config::default();
    config.settings.request_timeout = std::time::Duration::from_millis(200);
    let app = TestApp::spawn_with(config).await;
    let hold = created_hold(app.hold_best(app.concert.sessions[0], app.concert.vip, 1).await).await;

    let slow = app.pay(hold["id"].as_str().unwrap(), cards::TIMEOUT).await;

    assert_eq!(slow.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    problem(slow, StatusCode::SERVICE_UNAVAILABLE, "request-timeout").await;
}
