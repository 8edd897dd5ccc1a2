//! The on-sale waiting room over HTTP: holds need an admission pass, buyers are admitted in
//! arrival order at the configured rate, early arrivals are drawn fairly at opening, a browser
//! keeps one place however often it reloads, and scripted clients are rate limited.

mod support;

use admit_domain::EventId;
use admit_server::Settings;
use admit_server::ratelimit::{Limit, LimitSettings};
use admit_store::WaitingRoomConfig;
use chrono::{DateTime, Utc};
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Config, TestApp, created_hold, json_body, problem};

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).expect("time").to_rfc3339()
}

/// Switches the waiting room on through the organiser API.
async fn open_room(app: &TestApp, event: EventId, opens_at_ms: i64, per_minute: u32) -> Value {
    let resp = app
        .client
        .put(app.url(&format!("/events/{}/waiting-room", event.0)))
        .bearer_auth(&app.organiser.admin_token)
        .json(&json!({ "opens_at": rfc3339(opens_at_ms), "admit_per_minute": per_minute, "pass_ttl_secs": 600 }))
        .send()
        .await
        .expect("PUT waiting room");
    json_body(resp, StatusCode::OK).await
}

/// A buyer's browser: remembers the queue cookie like a real one.
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Browser {
        Browser { cookie: None }
    }

    async fn join(&mut self, app: &TestApp, event: EventId) -> Response {
        let mut req = app.client.post(app.url(&format!("/events/{}/queue", event.0)));
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = req.send().await.expect("POST queue");
        if let Some(set) = resp.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().expect("cookie pair").to_owned();
            assert!(set.contains("HttpOnly") && set.contains("Path=/"), "{set}");
            self.cookie = Some(pair);
        }
        resp
    }

    async fn join_ok(&mut self, app: &TestApp, event: EventId) -> Value {
        let resp = self.join(app, event).await;
        let status = resp.status();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "join: {status}");
        json_body(resp, status).await
    }
}

async fn standing(app: &TestApp, event: EventId, entry: &Value) -> Value {
    let path = format!("/events/{}/queue/{}", event.0, entry["entry_id"].as_str().expect("entry id"));
    json_body(app.get(&path).await, StatusCode::OK).await
}

async fn hold_with_pass(app: &TestApp, pass: Option<&str>, session: i64, grade: i64) -> Response {
    let mut req =
        app.client.post(app.url("/holds")).json(&json!({ "session_id": session, "grade_id": grade, "quantity": 1 }));
    if let Some(pass) = pass {
        req = req.header("Admission-Pass", pass);
    }
    req.send().await.expect("POST /holds")
}

#[tokio::test]
async fn holds_on_a_queued_event_need_an_admission_pass() {
    let app = TestApp::spawn().await;
    let (session, grade) = (app.concert.sessions[0].0, app.concert.r.0);
    open_room(&app, app.concert.event, now_ms() - 1_000, 600).await;

    let refused =
        problem(hold_with_pass(&app, None, session, grade).await, StatusCode::FORBIDDEN, "admission-pass-required")
            .await;
    assert_eq!(refused["waiting_room"], format!("/events/{}/queue", app.concert.event.0));
    for forged in ["AP1.1.abc.99999999999999.00000000000000000000000000000000", "not a pass", ""] {
        problem(
            hold_with_pass(&app, Some(forged), session, grade).await,
            StatusCode::FORBIDDEN,
            "admission-pass-invalid",
        )
        .await;
    }
    assert_eq!(app.counts(app.concert.sessions[0], app.concert.r).await.0, 0, "a refused hold holds nothing");

    // An event without a waiting room sells as before.
    created_hold(app.hold_best(app.festival.session, app.festival.ga, 1).await).await;
}

#[tokio::test]
async fn an_admitted_buyer_holds_with_the_pass_and_later_arrivals_wait_in_order() {
    let app = TestApp::spawn().await;
    let event = app.concert.event;
    let (session, grade) = (app.concert.sessions[0].0, app.concert.r.0);
    open_room(&app, event, now_ms() - 10_000, 30).await; // one every two seconds; the first goes straight in

    let mut browsers: Vec<Browser> = (0..5).map(|_| Browser::new()).collect();
    let mut entries = Vec::new();
    for b in &mut browsers {
        entries.push(b.join_ok(&app, event).await);
    }
    assert_eq!(entries[0]["status"], "admitted", "{}", entries[0]);
    let positions: Vec<Value> = entries[1..].iter().map(|e| e["position"].clone()).collect();
    assert_eq!(
        positions,
        [json!(1), json!(2), json!(3), json!(4)],
        "later arrivals queue in arrival order: {entries:?}"
    );
    assert_eq!(entries[4]["status"], "waiting");
    assert!(entries[4]["admission_pass"].is_null());
    assert!(entries[4]["estimated_wait_secs"].as_i64().is_some());

    let pass = entries[0]["admission_pass"].as_str().expect("pass");
    created_hold(hold_with_pass(&app, Some(pass), session, grade).await).await;
    // The pass is for this event only.
    open_room(&app, app.festival.event, now_ms() - 1_000, 30).await;
    let festival = hold_with_pass(&app, Some(pass), app.festival.session.0, app.festival.ga.0).await;
    let wrong = problem(festival, StatusCode::FORBIDDEN, "admission-pass-invalid").await;
    assert!(wrong["detail"].as_str().expect("detail").contains("another event"), "{wrong}");
    // A pass with its expiry pushed out no longer verifies.
    let mut parts: Vec<&str> = pass.split('.').collect();
    let later = (now_ms() + 86_400_000).to_string();
    parts[3] = &later;
    problem(
        hold_with_pass(&app, Some(&parts.join(".")), session, grade).await,
        StatusCode::FORBIDDEN,
        "admission-pass-invalid",
    )
    .await;

    // The second arrival's turn comes at the rate (one every two seconds); the last still waits.
    let mut second = standing(&app, event, &entries[1]).await;
    for _ in 0..50 {
        if second["status"] == "admitted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        second = standing(&app, event, &entries[1]).await;
    }
    assert_eq!(second["status"], "admitted", "{second}");
    assert!(second["admission_pass"].as_str().is_some());
    let last = standing(&app, event, &entries[4]).await;
    assert_eq!(last["status"], "waiting", "{last}");
    let room = json_body(app.get(&format!("/events/{}/waiting-room", event.0)).await, StatusCode::OK).await;
    assert_eq!(room["queued"], 5, "{room}");
}

#[tokio::test]
async fn reloading_or_opening_more_tabs_keeps_one_place() {
    let app = TestApp::spawn().await;
    let event = app.concert.event;
    open_room(&app, event, now_ms() + 60_000, 60).await;
    let mut me = Browser::new();
    let first = me.join(&app, event).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json_body(first, StatusCode::CREATED).await;
    assert_eq!(first["status"], "early");
    for _ in 0..3 {
        let again = me.join(&app, event).await;
        assert_eq!(again.status(), StatusCode::OK, "a reload is the same place, not a new one");
        let again = json_body(again, StatusCode::OK).await;
        assert_eq!(again["entry_id"], first["entry_id"]);
    }
    let mut someone_else = Browser::new();
    let other = someone_else.join_ok(&app, event).await;
    assert_ne!(other["entry_id"], first["entry_id"]);
    assert_eq!(other["early_arrivals"], 2, "{other}");
}

#[tokio::test]
async fn arrivals_before_opening_are_drawn_into_a_fair_order_at_opening() {
    let app = TestApp::spawn().await;
    let event = app.concert.event;
    let opens = now_ms() + 2_000;
    open_room(&app, event, opens, 6).await; // slow, so nobody is admitted during the test
    let mut entries = Vec::new();
    for _ in 0..30 {
        let e = Browser::new().join_ok(&app, event).await;
        assert_eq!(e["status"], "early", "{e}");
        assert!(e["position"].is_null());
        entries.push(e);
    }
    tokio::time::sleep(Duration::from_millis((opens - now_ms()).max(0) as u64 + 100)).await;
    let mut positions = Vec::new();
    for e in &entries {
        let s = standing(&app, event, e).await;
        positions.push(s["position"].as_i64().unwrap_or_else(|| panic!("a drawn place: {s}")));
    }
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=30).collect::<Vec<i64>>(), "every early arrival got exactly one place: {positions:?}");
    assert_ne!(positions, sorted, "arriving first earns nothing: the order is drawn, not arrival order");
    // Someone arriving after opening queues behind every early arrival.
    let late = Browser::new().join_ok(&app, event).await;
    assert_eq!(late["position"], 31, "{late}");
}

#[tokio::test]
async fn an_expired_admission_is_refused_and_rejoining_gives_a_new_place() {
    let app = TestApp::spawn().await;
    let event = app.concert.event;
    let config = WaitingRoomConfig { opens_at_ms: now_ms() - 1_000, admit_per_minute: 600, pass_ttl_ms: 1_000 };
    app.store.set_waiting_room(event, Some(config), now_ms()).await.expect("configure");
    let mut me = Browser::new();
    let admitted = me.join_ok(&app, event).await;
    assert_eq!(admitted["status"], "admitted");
    let pass = admitted["admission_pass"].as_str().expect("pass").to_owned();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let hold = hold_with_pass(&app, Some(&pass), app.concert.sessions[0].0, app.concert.r.0).await;
    let expired = problem(hold, StatusCode::FORBIDDEN, "admission-pass-invalid").await;
    assert!(expired["detail"].as_str().expect("detail").contains("expired"), "{expired}");
    assert_eq!(standing(&app, event, &admitted).await["status"], "expired");
    let again = me.join(&app, event).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_ne!(json_body(again, StatusCode::CREATED).await["entry_id"], admitted["entry_id"]);
}

#[tokio::test]
async fn only_the_events_organiser_admin_configures_its_waiting_room() {
    let app = TestApp::spawn().await;
    let path = format!("/events/{}/waiting-room", app.concert.event.0);
    let body = json!({ "opens_at": rfc3339(now_ms()), "admit_per_minute": 60, "pass_ttl_secs": 600 });
    let put = |token: &str| app.client.put(app.url(&path)).bearer_auth(token).json(&body).send();
    problem(put(&app.rival.admin_token).await.expect("PUT"), StatusCode::FORBIDDEN, "forbidden").await;
    problem(put(&app.organiser.gate_token).await.expect("PUT"), StatusCode::FORBIDDEN, "forbidden").await;
    problem(
        app.client.put(app.url(&path)).json(&body).send().await.expect("PUT"),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    for bad in [json!({ "admit_per_minute": 0 }), json!({ "pass_ttl_secs": 5 })] {
        let mut b = body.clone();
        b.as_object_mut().expect("object").extend(bad.as_object().expect("object").clone());
        let resp = app.client.put(app.url(&path)).bearer_auth(&app.organiser.admin_token).json(&b).send().await;
        problem(resp.expect("PUT"), StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
    problem(app.get(&path).await, StatusCode::NOT_FOUND, "not-found").await;
    open_room(&app, app.concert.event, now_ms(), 60).await;
    json_body(app.get(&path).await, StatusCode::OK).await;
    let off = app.client.delete(app.url(&path)).bearer_auth(&app.organiser.admin_token).send().await.expect("DELETE");
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    created_hold(app.hold_best(app.concert.sessions[0], app.concert.r, 1).await).await;
}

#[tokio::test]
async fn a_scripted_client_is_rate_limited_and_its_refused_requests_change_nothing() {
    let limits = LimitSettings {
        holds_per_address: Some(Limit { per_minute: 60, burst: 5 }),
        joins_per_address: Some(Limit { per_minute: 60, burst: 3 }),
        ..LimitSettings::default()
    };
    let app =
        TestApp::spawn_with(Config { settings: Settings { limits, ..Settings::default() }, ..Config::default() }).await;
    let mut created = 0;
    let mut limited = None;
    for _ in 0..12 {
        let resp = app.hold_best(app.festival.session, app.festival.ga, 1).await;
        match resp.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry = resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
                assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)), "Retry-After missing: {body}");
                limited = Some(body);
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(limited.is_some(), "twelve holds in a burst of five must be limited");
    assert!((5..=6).contains(&created), "about the burst gets through, got {created}");
    assert_eq!(app.counts(app.festival.session, app.festival.ga).await.0, created as u64, "refused holds hold nothing");

    open_room(&app, app.concert.event, now_ms() + 60_000, 60).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(Browser::new().join(&app, app.concert.event).await.status());
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "cookie-less joins from one address: {statuses:?}");
    let room = json_body(app.get(&format!("/events/{}/waiting-room", app.concert.event.0)).await, StatusCode::OK).await;
    let queued = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert!(queued <= 4, "{statuses:?} {room}");
}
