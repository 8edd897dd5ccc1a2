//! Who the server thinks is calling: the `Authorization` scheme of staff and gate-terminal
//! tokens (case-insensitive, RFC 9110), and the client address rate limits count when the
//! server sits behind proxies (the right-most `X-Forwarded-For` entry no trusted proxy wrote).

mod support;

use admit_server::ratelimit::{Limit, LimitSettings};
use reqwest::{StatusCode, header};
use serde_json::json;
use support::{Config, TestApp, created_hold, json_body, problem};

async fn manifest_with(app: &TestApp, authorization: &str) -> reqwest::Response {
    let url = app.url(&format!("/sessions/{}/manifest", app.concert.sessions[0].0));
    app.client.get(url).header(header::AUTHORIZATION, authorization).send().await.unwrap()
}

#[tokio::test]
async fn the_bearer_scheme_of_a_staff_token_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let token = app.organiser.gate_token.clone();

    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let resp = manifest_with(&app, &format!("{scheme} {token}")).await;
        json_body(resp, StatusCode::OK).await;
    }
    for wrong in [format!("Basic {token}"), format!("Bearer{token}"), "Bearer ".to_owned(), token.clone()] {
        problem(manifest_with(&app, &wrong).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

#[tokio::test]
async fn the_bearer_scheme_of_a_gate_terminal_token_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let enrolled = app
        .client
        .post(app.url("/gate/devices"))
        .bearer_auth(&app.organiser.gate_token)
        .json(&json!({ "gate_id": app.hall_gates[0].0, "name": "North 1" }))
        .send()
        .await
        .unwrap();
    let device_token = json_body(enrolled, StatusCode::CREATED).await["device_token"].as_str().unwrap().to_owned();

    for scheme in ["bearer", "BEARER"] {
        let resp =
            app.client.get(app.url("/gate/sync")).header(header::AUTHORIZATION, format!("{scheme} {device_token}"));
        json_body(resp.send().await.unwrap(), StatusCode::OK).await;
    }
}

/// A server behind proxies that allows one hold per client address (and per minute).
fn one_hold_per_address_behind_a_proxy() -> Config {
    let mut config = Config::default();
    config.settings.limits = LimitSettings {
        holds_per_address: Some(Limit { per_minute: 1, burst: 1 }),
        trust_forwarded_for: true,
        ..LimitSettings::off()
    };
    config
}

/// Places a one-seat hold as the proxy would forward it, with this `X-Forwarded-For`.
async fn hold_forwarded_for(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    let body = json!({ "session_id": app.concert.sessions[0].0, "grade_id": app.concert.s.0, "quantity": 1 });
    app.client.post(app.url("/holds")).header("x-forwarded-for", forwarded_for).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn behind_a_proxy_the_client_cannot_choose_its_address_with_the_first_forwarded_entry() {
    let app = TestApp::spawn_with(one_hold_per_address_behind_a_proxy()).await;

    created_hold(hold_forwarded_for(&app, "1.1.1.1, 203.0.113.9").await).await;
    let again = hold_forwarded_for(&app, "2.2.2.2, 203.0.113.9").await;

    problem(again, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    created_hold(hold_forwarded_for(&app, "1.1.1.1, 203.0.113.10").await).await;
}

#[tokio::test]
async fn trusted_proxies_in_the_forwarded_chain_are_skipped_and_an_untrusted_peer_is_not_believed() {
    let mut app_config = one_hold_per_address_behind_a_proxy();
    app_config.settings.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
    let app = TestApp::spawn_with(app_config).await;

    created_hold(hold_forwarded_for(&app, "203.0.113.9, 10.1.2.3").await).await;
    let same_client = hold_forwarded_for(&app, "198.51.100.1, 203.0.113.9, 10.9.9.9, 127.0.0.1").await;
    problem(same_client, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;

    let mut untrusting = one_hold_per_address_behind_a_proxy();
    untrusting.settings.trusted_proxies = vec!["192.0.2.0/24".parse().unwrap()];
    let direct = TestApp::spawn_with(untrusting).await;
    created_hold(hold_forwarded_for(&direct, "203.0.113.1").await).await;
    let spoofed = hold_forwarded_for(&direct, "203.0.113.2").await;
    problem(spoofed, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
}
