//! Holds: explicit seats, best available, general-admission units; "sold out" always comes
//! with concrete alternatives and never leaves anything half-held; cancelled and expired
//! holds return their seats to sale at once and can no longer be paid.

mod support;

use admit_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Config, TestApp, alternative, alternative_kinds, cards, created_hold, json_body, problem};

/// Seat ids by label (e.g. "A-4") in one session.
async fn seat_id(app: &TestApp, session: admit_domain::SessionId, label: &str) -> i64 {
    let seats = app.seats(session).await;
    seats.iter().find(|s| s["label"] == label).and_then(|s| s["id"].as_i64()).expect("seat by label")
}

async fn seat_state(app: &TestApp, session: admit_domain::SessionId, id: i64) -> Value {
    app.seats(session).await.into_iter().find(|s| s["id"] == id).expect("seat")["state"].clone()
}

#[tokio::test]
async fn an_explicit_seat_hold_holds_exactly_those_seats() {
    let app = TestApp::spawn().await;
    let s1 = app.concert.sessions[0];
    let (a1, a2) = (seat_id(&app, s1, "A-1").await, seat_id(&app, s1, "A-2").await);

    let hold = created_hold(app.hold_seats(s1, &[a1, a2]).await).await;

    let labels: Vec<&str> = hold["lines"].as_array().unwrap().iter().map(|l| l["seat"].as_str().unwrap()).collect();
    assert_eq!(labels, ["A-1", "A-2"]);
    assert_eq!((seat_state(&app, s1, a1).await, seat_state(&app, s1, a2).await), ("held".into(), "held".into()));
    assert_eq!(app.counts(s1, app.concert.vip).await, (2, 0, 10));
}

#[tokio::test]
async fn holding_a_taken_seat_is_sold_out_with_alternatives_and_holds_nothing_else() {
    let app = TestApp::spawn().await;
    let s1 = app.concert.sessions[0];
    let (taken, free) = (seat_id(&app, s1, "A-3").await, seat_id(&app, s1, "A-4").await);
    created_hold(app.hold_seats(s1, &[taken]).await).await;

    let refused = problem(app.hold_seats(s1, &[free, taken]).await, StatusCode::CONFLICT, "sold-out").await;

    assert!(refused["alternatives"].is_array(), "{refused}");
    assert!(alternative_kinds(&refused).contains(&"other_session".to_owned()), "{refused}");
    assert_eq!(seat_state(&app, s1, free).await, "free", "the free seat of the refused hold is not held");
    assert_eq!(app.counts(s1, app.concert.vip).await, (1, 0, 11));
}

#[tokio::test]
async fn a_sold_out_grade_offers_the_other_session_and_the_other_grades() {
    let app = TestApp::spawn().await;
    let (c, s1, s2) = (&app.concert, app.concert.sessions[0], app.concert.sessions[1]);
    created_hold(app.hold_best(s1, c.vip, 10).await).await;
    created_hold(app.hold_best(s1, c.vip, 2).await).await;

    let refused = problem(app.hold_best(s1, c.vip, 1).await, StatusCode::CONFLICT, "sold-out").await;

    let other_session = alternative(&refused, "other_session").expect("other_session");
    assert_eq!((&other_session["session_id"], &other_session["grade_id"]), (&s2.0.into(), &c.vip.0.into()));
    assert_eq!((&other_session["remaining"], &other_session["label"]), (&12.into(), &"Tomorrow".into()));
    let grades: Vec<(i64, i64)> = refused["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "other_grade")
        .map(|a| (a["grade_id"].as_i64().unwrap(), a["remaining"].as_i64().unwrap()))
        .collect();
    assert_eq!(grades, [(c.r.0, 16), (c.s.0, 20)], "{refused}");
    assert_eq!(alternative(&refused, "other_grade").unwrap()["price"]["amount_minor"], 132_000);
    assert!(alternative(&refused, "fewer_seats").is_none(), "nothing left to offer fewer of: {refused}");
    assert_eq!(app.counts(s1, c.vip).await, (12, 0, 0));
}

#[tokio::test]
async fn without_an_adjacent_block_the_buyer_is_offered_fewer_adjacent_seats() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    // Seat 4 of both VIP rows taken: the longest free run is A-1..A-3 (or B-1..B-3).
    let blockers = [seat_id(&app, s1, "A-4").await, seat_id(&app, s1, "B-4").await];
    created_hold(app.hold_seats(s1, &blockers).await).await;
    let together = json!({ "session_id": s1.0, "grade_id": vip.0, "quantity": 4, "require_adjacent": true });

    let refused = problem(app.post_json("/holds", &together).await, StatusCode::CONFLICT, "sold-out").await;

    let fewer = alternative(&refused, "fewer_adjacent").expect("fewer_adjacent");
    assert_eq!((&fewer["quantity"], &fewer["grade_id"]), (&3.into(), &vip.0.into()));
    assert!(alternative(&refused, "fewer_seats").is_none(), "10 seats remain: {refused}");
    assert_eq!(app.counts(s1, vip).await, (2, 0, 10));
    // Without the requirement the party is split instead.
    let split = created_hold(app.hold_best(s1, vip, 4).await).await;
    assert_eq!(split["lines"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn asking_for_more_seats_than_remain_offers_fewer_seats() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    created_hold(app.hold_best(s1, vip, 9).await).await;

    let refused = problem(app.hold_best(s1, vip, 4).await, StatusCode::CONFLICT, "sold-out").await;

    let fewer = alternative(&refused, "fewer_seats").expect("fewer_seats");
    assert_eq!((&fewer["quantity"], &fewer["grade_id"]), (&3.into(), &vip.0.into()));
    assert_eq!(app.counts(s1, vip).await, (9, 0, 3));
}

#[tokio::test]
async fn general_admission_units_are_held_within_the_quota_and_refused_beyond_it() {
    let app = TestApp::spawn().await;
    let f = &app.festival;

    let ten = created_hold(app.hold_best(f.session, f.ga, 10).await).await;
    created_hold(app.hold_best(f.session, f.ga, 8).await).await;
    let refused = problem(app.hold_best(f.session, f.ga, 3).await, StatusCode::CONFLICT, "sold-out").await;

    assert_eq!(ten["lines"], json!([ten["lines"][0].clone()]));
    assert_eq!((&ten["lines"][0]["quantity"], &ten["lines"][0]["seat_id"]), (&10.into(), &Value::Null));
    assert_eq!(ten["total"]["amount_minor"], 10 * 60_000);
    let fewer = alternative(&refused, "fewer_seats").expect("fewer_seats");
    assert_eq!((&fewer["quantity"], &fewer["grade_id"]), (&2.into(), &f.ga.0.into()));
    assert_eq!(alternative(&refused, "other_grade").expect("other_grade")["grade_id"], f.pass.0);
    assert_eq!(app.counts(f.session, f.ga).await, (18, 0, 2));
}

#[tokio::test]
async fn cancelling_a_hold_returns_its_seats_at_once_and_it_cannot_be_paid() {
    let app = TestApp::spawn().await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    let hold = created_hold(app.hold_best(s1, vip, 2).await).await;
    let id = hold["id"].as_str().unwrap();
    assert_eq!(app.counts(s1, vip).await, (2, 0, 10));

    let cancelled = json_body(app.cancel(id).await, StatusCode::OK).await;

    assert_eq!(cancelled["state"], "released");
    assert_eq!(app.counts(s1, vip).await, (0, 0, 12));
    assert!(app.seats(s1).await.iter().all(|s| s["state"] == "free"));
    problem(app.pay(id, cards::APPROVED).await, StatusCode::CONFLICT, "hold-released").await;
    assert_eq!(json_body(app.cancel(id).await, StatusCode::OK).await["state"], "released", "cancel is repeatable");
    assert_eq!(app.counts(s1, vip).await, (0, 0, 12));
}

#[tokio::test]
async fn an_unpaid_hold_expires_and_returns_to_sale_without_any_request() {
    let settings = Settings {
        hold_ttl: Duration::from_secs(1),
        sweep_interval: Duration::from_millis(100),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(Config { settings, ..Config::default() }).await;
    let (s1, vip) = (app.concert.sessions[0], app.concert.vip);
    let hold = created_hold(app.hold_best(s1, vip, 2).await).await;
    let id = hold["id"].as_str().unwrap();

    tokio::time::sleep(Duration::from_millis(2_000)).await;

    // Read straight from the store: the sweeper, not this request, released the seats.
    let availability = app.store.availability(s1).await.unwrap();
    let vip_now = availability.iter().find(|a| a.grade_id == vip).unwrap();
    assert_eq!((vip_now.held, vip_now.sold), (0, 0));
    assert_eq!(app.store.hold(id).await.unwrap().state, admit_domain::HoldState::Expired);
    assert_eq!(app.counts(s1, vip).await, (0, 0, 12));
    problem(app.pay(id, cards::APPROVED).await, StatusCode::CONFLICT, "hold-expired").await;
    assert_eq!(json_body(app.get(&format!("/holds/{id}")).await, StatusCode::OK).await["state"], "expired");
}

#[tokio::test]
async fn bad_hold_requests_get_stable_problems_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (c, s1, s2) = (&app.concert, app.concert.sessions[0], app.concert.sessions[1]);
    let before = (app.get(&format!("/sessions/{}", s1.0)).await.text().await.unwrap(), app.seats(s1).await);
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = app.client.post(app.url("/holds")).body(body);
        if let Some(ct) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, ct);
        }
        request.send()
    };
    let json = Some("application/json");
    let other_session_seat = app.seat_ids(s2, c.vip).await[0];
    let a1 = app.seat_ids(s1, c.vip).await[0];

    problem(raw(r#"{"session_id": 1,"#, json).await.unwrap(), StatusCode::BAD_REQUEST, "malformed-request").await;
    problem(
        raw(r#"{"session_id": 1, "quantity": 1}"#, None).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    problem(
        raw(r#"{"session_id": 1, "grade_id": 1, "quantity": 1}"#, Some("text/plain")).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    let unprocessable = [
        json!({ "session_id": s1.0, "grade_id": c.vip.0, "quantity": 1, "colour": "red" }),
        json!({ "session_id": s1.0, "grade_id": c.vip.0, "quantity": 0 }),
        json!({ "session_id": s1.0, "grade_id": c.vip.0, "quantity": 11 }),
        json!({ "session_id": s1.0, "grade_id": c.vip.0, "quantity": -1 }),
        json!({ "session_id": s1.0, "seat_ids": [a1], "grade_id": c.vip.0 }),
        json!({ "session_id": s1.0, "seat_ids": [a1], "grade_id": c.vip.0, "quantity": 1 }),
        json!({ "session_id": s1.0, "grade_id": c.vip.0 }),
        json!({ "session_id": s1.0, "seat_ids": [] }),
        json!({ "session_id": s1.0, "seat_ids": [a1, a1] }),
        json!({ "session_id": s1.0, "seat_ids": app.seat_ids(s1, c.vip).await[..11] }),
        json!({ "session_id": s1.0, "seat_ids": [other_session_seat] }),
        json!({ "session_id": s1.0, "grade_id": app.festival.ga.0, "quantity": 1 }),
        json!({ "session_id": "one", "grade_id": c.vip.0, "quantity": 1 }),
    ];
    for body in unprocessable {
        let p = problem(app.post_json("/holds", &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert!(p.get("alternatives").is_none(), "{body}: {p}");
    }
    let unknown_session = json!({ "session_id": 999_999, "grade_id": c.vip.0, "quantity": 1 });
    problem(app.post_json("/holds", &unknown_session).await, StatusCode::NOT_FOUND, "not-found").await;
    let huge = json!({ "session_id": s1.0, "grade_id": c.vip.0, "quantity": 1, "note": "x".repeat(70_000) });
    problem(app.post_json("/holds", &huge).await, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    problem(app.get("/events/abc").await, StatusCode::BAD_REQUEST, "malformed-request").await;
    problem(app.get("/sessions/1.5/seats").await, StatusCode::BAD_REQUEST, "malformed-request").await;
    problem(app.get("/events/999999").await, StatusCode::NOT_FOUND, "not-found").await;
    problem(app.get("/holds/no-such-hold").await, StatusCode::NOT_FOUND, "not-found").await;
    problem(app.get("/no/such/route").await, StatusCode::NOT_FOUND, "not-found").await;
    let wrong_method = app.client.delete(app.url("/events")).send().await.unwrap();
    assert_eq!(
        wrong_method.headers().get(reqwest::header::ALLOW).map(|v| v.to_str().unwrap().to_owned()),
        Some("GET,HEAD".into())
    );
    problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
    let put = app.client.put(app.url("/holds/some-hold")).json(&json!({})).send().await.unwrap();
    problem(put, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;

    let after = (app.get(&format!("/sessions/{}", s1.0)).await.text().await.unwrap(), app.seats(s1).await);
    assert_eq!(before, after, "bad requests changed nothing");
}
