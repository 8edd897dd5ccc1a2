//! The gate terminal API: enrolment and revocation by the organiser's staff, the paged sync a
//! device downloads (its venue only), scan uploads refused whole when they do not fit the
//! device, online checks only at the device's own gate, and the reports' bad input.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, json_body, problem};

/// Enrols a terminal at `gate` with the organiser's staff token; (device id, device token).
async fn enrol(app: &TestApp, gate: i64) -> (i64, String) {
    let resp = app
        .client
        .post(app.url("/gate/devices"))
        .bearer_auth(&app.organiser.gate_token)
        .json(&json!({ "gate_id": gate, "name": "North 1" }))
        .send()
        .await
        .unwrap();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    let body = json_body(resp, StatusCode::CREATED).await;
    let id = body["device_id"].as_i64().unwrap();
    assert_eq!(location, Some(format!("/gate/devices/{id}")));
    (id, body["device_token"].as_str().unwrap().to_owned())
}

async fn sync(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.client.get(app.url(&format!("/gate/sync{query}"))).bearer_auth(token).send().await.unwrap()
}

async fn upload(app: &TestApp, device: i64, token: &str, scans: Value) -> reqwest::Response {
    let url = app.url(&format!("/gate/devices/{device}/scans"));
    app.client.post(url).bearer_auth(token).json(&json!({ "scans": scans })).send().await.unwrap()
}

#[tokio::test]
async fn enrolling_needs_the_gates_own_organiser_and_a_sensible_name() {
    let app = TestApp::spawn().await;
    let gate = app.hall_gates[0].0;
    let body = json!({ "gate_id": gate });

    problem(app.post_json("/gate/devices", &body).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let as_rival = app.client.post(app.url("/gate/devices")).bearer_auth(&app.rival.gate_token).json(&body);
    problem(as_rival.send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    let unknown = json!({ "gate_id": 999_999 });
    let resp = app.client.post(app.url("/gate/devices")).bearer_auth(&app.organiser.gate_token).json(&unknown);
    problem(resp.send().await.unwrap(), StatusCode::NOT_FOUND, "not-found").await;
    let blank = json!({ "gate_id": gate, "name": "  " });
    let resp = app.client.post(app.url("/gate/devices")).bearer_auth(&app.organiser.gate_token).json(&blank);
    problem(resp.send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    let (_, token) = enrol(&app, gate).await;
    assert!(token.starts_with("admit_device_"), "{token}");
}

#[tokio::test]
async fn a_revoked_device_can_no_longer_sync() {
    let app = TestApp::spawn().await;
    let (device, token) = enrol(&app, app.hall_gates[0].0).await;
    json_body(sync(&app, &token, "").await, StatusCode::OK).await;

    let url = app.url(&format!("/gate/devices/{device}"));
    let by_rival = app.client.delete(&url).bearer_auth(&app.rival.gate_token).send().await.unwrap();
    problem(by_rival, StatusCode::FORBIDDEN, "forbidden").await;
    let revoked = app.client.delete(&url).bearer_auth(&app.organiser.gate_token).send().await.unwrap();
    let revoked = json_body(revoked, StatusCode::OK).await;

    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert!(revoked.get("device_token").is_none(), "the token is shown once only");
    problem(sync(&app, &token, "").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem(sync(&app, &app.organiser.gate_token, "").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_device_syncs_its_venue_page_by_page_and_then_only_changes() {
    let app = TestApp::spawn().await;
    let order = app.buy(app.concert.sessions[0], app.concert.vip, 3).await;
    app.buy(app.festival.session, app.festival.ga, 1).await;
    let (_, token) = enrol(&app, app.hall_gates[0].0).await;

    let first = json_body(sync(&app, &token, "?limit=2").await, StatusCode::OK).await;
    let page = first["next_page"].as_str().expect("more pages").to_owned();
    let second = json_body(sync(&app, &token, &format!("?limit=2&page={page}")).await, StatusCode::OK).await;

    assert_eq!(first["total_tickets"], 3, "the festival is at another venue");
    let sessions: Vec<i64> = first["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert_eq!(sessions, vec![app.concert.sessions[0].0, app.concert.sessions[1].0]);
    assert_eq!(first["keys"][0]["key_id"], app.concert.keys.key_id);
    assert_eq!(first["sessions"][0]["credential_policy"]["proof_window_seconds"], 30);
    let mut ids: Vec<String> =
        first["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().into()).collect();
    ids.extend(second["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()));
    let mut bought: Vec<String> =
        order["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect();
    bought.sort_by_key(|id| id.parse::<i64>().unwrap());
    assert_eq!(ids, bought, "every ticket once, in id order");
    assert!(second["next_page"].is_null());

    let cursor = second["cursor"].as_str().unwrap().to_owned();
    let credential = order["tickets"][1]["credential"].as_str().unwrap();
    app.scan_verdict(credential, app.hall_gates[1], app.concert.sessions[0]).await;
    let changes = json_body(sync(&app, &token, &format!("?since={cursor}")).await, StatusCode::OK).await;
    assert_eq!(changes["tickets"].as_array().unwrap().len(), 1, "{changes}");
    assert_eq!(changes["tickets"][0]["entries_used"], 1);

    for bad in ["?since=yesterday", "?page=nonsense", "?limit=0", "?limit=10001"] {
        problem(sync(&app, &token, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
}

#[tokio::test]
async fn an_upload_that_does_not_fit_the_device_is_refused_whole() {
    let app = TestApp::spawn().await;
    let order = app.buy(app.concert.sessions[0], app.concert.vip, 1).await;
    let ticket = order["tickets"][0]["id"].as_str().unwrap().to_owned();
    let (device, token) = enrol(&app, app.hall_gates[0].0).await;
    let (other_device, _) = enrol(&app, app.hall_gates[1].0).await;
    let scan = |seq: i64, gate: i64, session: i64, verdict: &str| {
        json!({ "seq": seq, "ticket_id": ticket, "ticket_version": 1, "session_id": session, "gate_id": gate,
                "verdict": verdict, "scanned_at": "2026-05-01T19:00:00Z", "latitude": 37.5, "longitude": 127.0 })
    };
    let (gate, session) = (app.hall_gates[0].0, app.concert.sessions[0].0);
    let good = scan(1, gate, session, "admit");

    for bad in [
        json!([good.clone(), scan(2, app.hall_gates[1].0, session, "admit")]),
        json!([good.clone(), scan(2, gate, app.festival.session.0, "admit")]),
        json!([good.clone(), scan(2, gate, session, "maybe")]),
        json!([good.clone(), scan(2, gate, session, "deny")]),
        json!([good.clone(), { "seq": 3, "session_id": session, "gate_id": gate, "verdict": "deny",
                               "reason": "no_such_reason", "scanned_at": "2026-05-01T19:00:00Z" }]),
        json!([good.clone(), good.clone()]),
    ] {
        problem(upload(&app, device, &token, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
    problem(upload(&app, other_device, &token, json!([good.clone()])).await, StatusCode::FORBIDDEN, "forbidden").await;

    let manifest = app.manifest(app.concert.sessions[0], &app.organiser.gate_token).await;
    assert_eq!(manifest[0]["entries_used"], 0, "nothing was recorded");
    let answer = json_body(upload(&app, device, &token, json!([good])).await, StatusCode::OK).await;
    assert_eq!(answer["results"][0]["outcome"], "counted", "{answer}");
}

#[tokio::test]
async fn a_device_may_ask_for_online_verdicts_only_at_its_own_gate() {
    let app = TestApp::spawn().await;
    let order = app.buy(app.concert.sessions[0], app.concert.vip, 1).await;
    let credential = order["tickets"][0]["credential"].as_str().unwrap();
    let (_, token) = enrol(&app, app.hall_gates[0].0).await;

    let elsewhere = app.scan(credential, app.hall_gates[1], app.concert.sessions[0], &token).await;
    problem(elsewhere, StatusCode::FORBIDDEN, "forbidden").await;
    let here =
        json_body(app.scan(credential, app.hall_gates[0], app.concert.sessions[0], &token).await, StatusCode::OK).await;
    assert_eq!(here["verdict"], "admit", "{here}");
}

#[tokio::test]
async fn the_reports_belong_to_the_organiser_and_know_their_buckets() {
    let app = TestApp::spawn().await;
    let session = app.concert.sessions[0].0;

    for path in [format!("/sessions/{session}/conflicts"), format!("/sessions/{session}/entries")] {
        problem(app.get_as(&path, &app.rival.gate_token).await, StatusCode::FORBIDDEN, "forbidden").await;
        problem(app.get(&path).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let week = app.get_as(&format!("/sessions/{session}/entries?bucket=week"), &app.organiser.gate_token).await;
    problem(week, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let hour = app.get_as(&format!("/sessions/{session}/entries?bucket=hour"), &app.organiser.gate_token).await;
    let hour = json_body(hour, StatusCode::OK).await;
    assert_eq!((hour["bucket"].as_str(), hour["rows"].as_array().map(Vec::len)), (Some("hour"), Some(0)));
}
