//! The per-event credential policy over HTTP: the event detail shows it, the owning
//! organiser's administrator sets it, and anything else is refused with a problem and changes
//! nothing.

mod support;

use reqwest::Response;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, json_body, problem};

fn path(app: &TestApp) -> String {
    format!("/events/{}/credential-policy", app.concert.event.0)
}

async fn put(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> Response {
    let mut request = app.client.put(app.url(path)).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn shown_policy(app: &TestApp) -> Value {
    let detail = json_body(app.get(&format!("/events/{}", app.concert.event.0)).await, StatusCode::OK).await;
    detail["credential_policy"].clone()
}

#[tokio::test]
async fn an_events_detail_shows_the_default_credential_policy() {
    let app = TestApp::spawn().await;

    let policy = shown_policy(&app).await;

    assert_eq!(policy, json!({ "static_accepted": true, "rotation_seconds": 10, "proof_window_seconds": 30 }));
}

#[tokio::test]
async fn the_organiser_sets_the_credential_policy_and_the_event_detail_shows_it() {
    let app = TestApp::spawn().await;
    let strict = json!({ "static_accepted": false, "rotation_seconds": 5, "proof_window_seconds": 15 });

    let resp = put(&app, &path(&app), Some(&app.organiser.admin_token), &strict).await;

    assert_eq!(json_body(resp, StatusCode::OK).await, strict);
    assert_eq!(shown_policy(&app).await, strict);
    let festival = json_body(app.get(&format!("/events/{}", app.festival.event.0)).await, StatusCode::OK).await;
    assert_eq!(festival["credential_policy"]["static_accepted"], true, "other events keep their own policy");
}

#[tokio::test]
async fn an_invalid_credential_policy_is_refused_with_a_problem_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = Some(app.organiser.admin_token.as_str());

    for (body, mentions) in [
        (json!({ "static_accepted": true, "rotation_seconds": 1, "proof_window_seconds": 30 }), "rotation_seconds"),
        (json!({ "static_accepted": true, "rotation_seconds": 301, "proof_window_seconds": 400 }), "rotation_seconds"),
        (
            json!({ "static_accepted": true, "rotation_seconds": 20, "proof_window_seconds": 10 }),
            "proof_window_seconds",
        ),
        (
            json!({ "static_accepted": true, "rotation_seconds": 10, "proof_window_seconds": 601 }),
            "proof_window_seconds",
        ),
        (json!({ "static_accepted": true, "rotation_seconds": -5, "proof_window_seconds": 30 }), "rotation_seconds"),
        (json!({ "static_accepted": "no", "rotation_seconds": 10, "proof_window_seconds": 30 }), "static_accepted"),
        (json!({ "static_accepted": true, "rotation_seconds": 10 }), "proof_window_seconds"),
        (json!({ "static_accepted": true, "rotation_seconds": 10, "proof_window_seconds": 30, "max": 1 }), "max"),
    ] {
        let resp = put(&app, &path(&app), admin, &body).await;
        let problem = problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(mentions), "{body} -> {detail}");
    }

    assert_eq!(shown_policy(&app).await["rotation_seconds"], 10);
}

#[tokio::test]
async fn only_the_owning_organisers_administrator_may_set_the_credential_policy() {
    let app = TestApp::spawn().await;
    let relaxed = json!({ "static_accepted": true, "rotation_seconds": 60, "proof_window_seconds": 120 });
    let unknown_event = "/events/999999/credential-policy";

    let anonymous = put(&app, &path(&app), None, &relaxed).await;
    let rival = put(&app, &path(&app), Some(&app.rival.admin_token), &relaxed).await;
    let gate_staff = put(&app, &path(&app), Some(&app.organiser.gate_token), &relaxed).await;
    let nowhere = put(&app, unknown_event, Some(&app.organiser.admin_token), &relaxed).await;

    problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem(rival, StatusCode::FORBIDDEN, "forbidden").await;
    problem(gate_staff, StatusCode::FORBIDDEN, "forbidden").await;
    problem(nowhere, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(shown_policy(&app).await["rotation_seconds"], 10);
}
