//! `Idempotency-Key` on state-changing requests: a retry gets the first answer back, headers
//! included, and changes nothing; the key cannot be reused for another request; a retry while
//! the first is still running is told so; an answer that is not final (5xx, 409, 429) is not
//! kept, so the retry runs again; only matched routes keep records, after authentication, per
//! caller; records expire and are purged.

mod support;

use admit_domain::PaymentState;
use admit_server::ratelimit::{Limit, LimitSettings};
use admit_server::{Settings, state::now_ms};
use reqwest::{RequestBuilder, Response, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;
use support::phone::Phone;
use support::{Config, TestApp, card_body, cards, created_hold, json_body, problem};

/// How many idempotency records the store holds (counted by purging every one of them).
async fn records(app: &TestApp) -> u64 {
    app.store.idempotency_purge(i64::MAX).await.unwrap()
}

/// `POST /holds` for `quantity` VIP seats of the first concert session, with `key`.
fn keyed_hold(app: &TestApp, key: &str, quantity: u32) -> RequestBuilder {
    let body = json!({ "session_id": app.concert.sessions[0].0, "grade_id": app.concert.vip.0, "quantity": quantity });
    app.client.post(app.url("/holds")).header("idempotency-key", key).json(&body)
}

/// A buyer-session cookie (the server checks a session only where it reads one).
fn buyer_cookie(n: u8) -> String {
    format!("{}={}", admit_server::buyer::COOKIE, format!("{n:02x}").repeat(32))
}

async fn hold_id(resp: Response) -> String {
    created_hold(resp).await["id"].as_str().unwrap().to_owned()
}

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

#[tokio::test]
async fn an_unrouted_path_or_method_with_a_key_stores_nothing() {
    let app = TestApp::spawn().await;
    let padding = json!({ "padding": "x".repeat(60_000) });

    for i in 0..5 {
        let unrouted =
            app.client.post(app.url(&format!("/no/such/path/{i}"))).header("idempotency-key", format!("grow-{i}"));
        problem(unrouted.json(&padding).send().await.unwrap(), StatusCode::NOT_FOUND, "not-found").await;
    }
    let wrong_method = app.client.post(app.url("/health")).header("idempotency-key", "grow-405").json(&padding);
    problem(wrong_method.send().await.unwrap(), StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;

    assert_eq!(records(&app).await, 0, "404 and 405 never reach the store");
    created_hold(keyed_hold(&app, "routed", 1).send().await.unwrap()).await;
    assert_eq!(records(&app).await, 1, "a matched route keeps its record (so the count above could see one)");
}

#[tokio::test]
async fn a_staff_route_without_a_valid_token_is_refused_before_any_record() {
    let app = TestApp::spawn().await;
    let scan = json!({ "credential": "x", "gate_id": app.hall_gates[0].0, "session_id": app.concert.sessions[0].0 });
    let post = || app.client.post(app.url("/gate/scans")).header("idempotency-key", "no-token").json(&scan);

    let without = post().send().await.unwrap();
    let unknown = post().bearer_auth("admit_gate_0000").send().await.unwrap();

    problem(without, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem(unknown, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(records(&app).await, 0);
}

#[tokio::test]
async fn a_sold_out_refusal_is_not_replayed_and_the_retry_runs() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    vip_hold(&app, 10).await;
    let last_two = vip_hold(&app, 2).await;

    let refused = keyed_hold(&app, "when-free", 2).send().await.unwrap();
    problem(refused, StatusCode::CONFLICT, "sold-out").await;
    json_body(app.cancel(&last_two).await, StatusCode::OK).await;
    let retry = keyed_hold(&app, "when-free", 2).send().await.unwrap();

    assert_eq!((retry.status(), replayed(&retry)), (StatusCode::CREATED, Some("false".into())), "the retry ran");
    assert_eq!(app.counts(s1, vip).await, (12, 0, 0));
}

#[tokio::test]
async fn a_rate_limited_answer_is_not_replayed() {
    let one_a_minute = Some(Limit { per_minute: 1, burst: 1 });
    let limits = LimitSettings { holds_per_address: one_a_minute, ..LimitSettings::off() };
    let app =
        TestApp::spawn_with(Config { settings: Settings { limits, ..Settings::default() }, ..Config::default() }).await;
    created_hold(keyed_hold(&app, "first", 1).send().await.unwrap()).await;

    let limited = keyed_hold(&app, "second", 1).send().await.unwrap();
    let retry = keyed_hold(&app, "second", 1).send().await.unwrap();

    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!((retry.status(), replayed(&retry)), (StatusCode::TOO_MANY_REQUESTS, Some("false".into())));
    assert_eq!(records(&app).await, 1, "only the first hold's answer is kept");
}

#[tokio::test]
async fn a_replay_carries_the_stored_headers() {
    let app = TestApp::spawn().await;
    let order = app.buy(app.concert.sessions[0], app.concert.vip, 1).await;
    let mut phone = Phone::new(&app.base_url);
    assert_eq!(phone.open(order["login_url"].as_str().unwrap()).await.status(), StatusCode::SEE_OTHER);
    let path = format!("/my/api/tickets/{}/inspection", order["tickets"][0]["id"].as_str().unwrap());
    let inspect = || {
        let request = phone.http.post(app.url(&path)).header(header::COOKIE, phone.cookie.clone().unwrap());
        request.header("idempotency-key", "inspect-once").send()
    };

    let first = inspect().await.unwrap();
    let again = inspect().await.unwrap();

    assert_eq!((first.status(), replayed(&first)), (StatusCode::OK, Some("false".into())));
    assert_eq!((again.status(), replayed(&again)), (StatusCode::OK, Some("true".into())));
    for (name, value) in [(header::CACHE_CONTROL, "no-store"), (header::CONTENT_TYPE, "application/json")] {
        assert_eq!(first.headers()[&name], value);
        assert_eq!(again.headers()[&name], value, "the replay keeps {name}");
    }
    assert_eq!(first.bytes().await.unwrap(), again.bytes().await.unwrap());
}

#[tokio::test]
async fn records_expire_after_their_retention_and_are_purged() {
    let retention = Duration::from_secs(3600);
    let settings = Settings { idempotency_retention: retention, ..Config::default().settings };
    let app = TestApp::spawn_with(Config { settings, ..Config::default() }).await;
    let before = now_ms();
    let first = created_hold(keyed_hold(&app, "kept-an-hour", 1).send().await.unwrap()).await;
    let after = now_ms();
    let expiry = retention.as_millis() as i64;

    assert_eq!(app.store.idempotency_purge(before + expiry - 1).await.unwrap(), 0, "kept for the retention");
    let retry = keyed_hold(&app, "kept-an-hour", 1).send().await.unwrap();
    assert_eq!(replayed(&retry), Some("true".into()));
    assert_eq!(app.store.idempotency_purge(after + expiry).await.unwrap(), 1, "purged once it expired");
    let anew = keyed_hold(&app, "kept-an-hour", 1).send().await.unwrap();
    assert_eq!(replayed(&anew), Some("false".into()), "a purged key is new again");
    assert_ne!(created_hold(anew).await["id"], first["id"]);
}

#[tokio::test]
async fn the_same_key_from_two_callers_does_not_collide() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    let as_buyer = |n: u8| keyed_hold(&app, "shared-key", 1).header(header::COOKIE, buyer_cookie(n)).send();

    let a = as_buyer(1).await.unwrap();
    let b = as_buyer(2).await.unwrap();
    let anonymous = keyed_hold(&app, "shared-key", 1).send().await.unwrap();
    let a_again = as_buyer(1).await.unwrap();

    let runs = [&a, &b, &anonymous].map(|r| (r.status(), replayed(r)));
    let ran = (StatusCode::CREATED, Some("false".to_owned()));
    assert!(runs.iter().all(|r| *r == ran), "each caller's first request runs: {runs:?}");
    assert_eq!(replayed(&a_again), Some("true".into()));
    let (a, b, anonymous, a_again) =
        (hold_id(a).await, hold_id(b).await, hold_id(anonymous).await, hold_id(a_again).await);
    assert!(a != b && b != anonymous && a != anonymous, "three holds");
    assert_eq!(a_again, a);
    assert_eq!(app.counts(s1, vip).await, (3, 0, 9));
}
