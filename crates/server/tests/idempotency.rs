//! `Idempotency-Key` on state-changing requests: a retry gets the first answer back and
//! changes nothing; the key cannot be reused for another request; a retry while the first is
//! still running is told so; an answer without a definite outcome (5xx) is not kept, so the
//! retry runs again.

mod support;

use admit_domain::PaymentState;
use admit_server::Settings;
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Config, TestApp, card_body, cards, created_hold, json_body, problem};

async fn vip_hold(app: &TestApp, quantity: u32) -> String {
    let hold = created_hold(app.hold_best(app.concert.sessions[0], app.concert.vip, quantity).await).await;
    hold["id"].as_str().unwrap().to_owned()
}

async fn pay_with_key(app: &TestApp, hold_id: &str, card: &str, key: &str) -> Response {
    let url = app.url(&format!("/holds/{hold_id}/payments"));
    app.client.post(url).header("idempotency-key", key).json(&card_body(card)).send().await.unwrap()
}

fn replayed(resp: &Response) -> Option<String> {
    resp.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_repeated_payment_with_the_same_idempotency_key_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let hold_id = vip_hold(&app, 2).await;

    let first = pay_with_key(&app, &hold_id, cards::APPROVED, "pay-once").await;
    let second = pay_with_key(&app, &hold_id, cards::APPROVED, "pay-once").await;

    assert_eq!((first.status(), replayed(&first)), (StatusCode::CREATED, Some("false".into())));
    assert_eq!((second.status(), replayed(&second)), (StatusCode::CREATED, Some("true".into())));
    assert_eq!(second.headers()[header::CONTENT_TYPE], "application/json");
    let (first, second) = (first.bytes().await.unwrap(), second.bytes().await.unwrap());
    assert_eq!(first, second, "the identical body");
    let order: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(order["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(app.payments().await.len(), 1, "one charge");
    assert_eq!(app.counts(app.concert.sessions[0], app.concert.vip).await, (0, 2, 10), "one order");
}

#[tokio::test]
async fn a_replayed_creation_keeps_its_location_header() {
    let app = TestApp::spawn().await;
    let hold_id = vip_hold(&app, 1).await;

    let first = pay_with_key(&app, &hold_id, cards::APPROVED, "pay-location").await;
    let second = pay_with_key(&app, &hold_id, cards::APPROVED, "pay-location").await;

    let location = |r: &Response| r.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
    assert!(location(&first).is_some_and(|l| l.starts_with("/orders/")));
    assert_eq!(location(&second), location(&first), "a replay is the same response, headers included");
}

#[tokio::test]
async fn the_same_idempotency_key_with_a_different_request_is_refused() {
    let app = TestApp::spawn().await;
    let hold_id = vip_hold(&app, 1).await;
    json_body(pay_with_key(&app, &hold_id, cards::APPROVED, "key-1").await, StatusCode::CREATED).await;

    let reused = pay_with_key(&app, &hold_id, "5555555555554444", "key-1").await;

    problem(reused, StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused").await;
    assert_eq!(app.payments().await.len(), 1);
}

#[tokio::test]
async fn creating_a_hold_twice_with_the_same_idempotency_key_creates_one_hold() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    let body = json!({ "session_id": s1.0, "grade_id": vip.0, "quantity": 2 });
    let post = || app.client.post(app.url("/holds")).header("idempotency-key", "hold-once").json(&body).send();

    let first = post().await.unwrap();
    let second = post().await.unwrap();

    assert_eq!((first.status(), second.status()), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(replayed(&second), Some("true".into()));
    assert_eq!(first.text().await.unwrap(), second.text().await.unwrap());
    assert_eq!(app.counts(s1, vip).await, (2, 0, 10), "one hold of two seats, not two");
}

#[tokio::test]
async fn a_retry_while_the_first_request_runs_is_told_to_wait_and_a_timeout_is_not_replayed() {
    let settings = Settings { payment_timeout: Duration::from_millis(500), ..Settings::default() };
    let app = TestApp::spawn_with(Config { settings, ..Config::default() }).await;
    let hold_id = vip_hold(&app, 1).await;
    let path = format!("/holds/{hold_id}/payments");
    let slow = {
        let request =
            app.client.post(app.url(&path)).header("idempotency-key", "slow").json(&card_body(cards::TIMEOUT));
        tokio::spawn(request.send())
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let meanwhile = pay_with_key(&app, &hold_id, cards::TIMEOUT, "slow").await;
    problem(meanwhile, StatusCode::CONFLICT, "idempotency-in-progress").await;
    let first = slow.await.unwrap().unwrap();
    assert_eq!(replayed(&first), Some("false".into()));
    problem(first, StatusCode::GATEWAY_TIMEOUT, "payment-timeout").await;

    // No definite answer was kept: the same key runs the payment again.
    let retry = pay_with_key(&app, &hold_id, cards::TIMEOUT, "slow").await;
    assert_eq!(replayed(&retry), Some("false".into()));
    problem(retry, StatusCode::GATEWAY_TIMEOUT, "payment-timeout").await;
    let attempts = app.payments().await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts.iter().all(|p| p.state != PaymentState::Approved));
}

#[tokio::test]
async fn an_unusable_idempotency_key_is_a_bad_request_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    let body = json!({ "session_id": s1.0, "grade_id": vip.0, "quantity": 1 });

    for key in ["x".repeat(256), String::new()] {
        let resp = app.client.post(app.url("/holds")).header("idempotency-key", key).json(&body).send().await.unwrap();
        problem(resp, StatusCode::BAD_REQUEST, "malformed-request").await;
    }

    assert_eq!(app.counts(s1, vip).await, (0, 0, 12));
}
