//! Who the server thinks is calling: the `Authorization` scheme of staff and gate-terminal
//! tokens (case-insensitive, RFC 9110), and the client address rate limits count when the
//! server sits behind proxies (the right-most `X-Forwarded-For` entry no trusted proxy wrote).

mod support;

use reqwest::{StatusCode, header};
use serde_json::json;
use support::{TestApp, json_body, problem};

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
