//! The browser gate page as the server delivers it: the page and every asset it loads are
//! served from the binary with their content types and revalidation headers, and
//! `GET /gate/places` tells a staff member exactly their own organiser's gates and sessions.

mod support;

use reqwest::{StatusCode, header};
use serde_json::Value;
use support::{TestApp, json_body, problem};

fn header_of(resp: &reqwest::Response, name: header::HeaderName) -> String {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// The committed file an asset is built from, to compare with what the server sends.
fn source(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/assets/{path}", env!("CARGO_MANIFEST_DIR"))).expect("asset source")
}

#[tokio::test]
async fn the_gate_page_is_html_that_may_use_the_camera_and_nothing_inline() {
    let app = TestApp::spawn().await;

    let resp = app.get("/gate").await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header_of(&resp, header::CONTENT_TYPE), "text/html; charset=utf-8");
    let policy = header_of(&resp, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
    assert!(header_of(&resp, "permissions-policy".parse().unwrap()).contains("camera=(self)"));
    assert_eq!(header_of(&resp, header::REFERRER_POLICY), "no-referrer");
    let html = resp.text().await.unwrap();
    assert_eq!(html.as_bytes(), source("gate/index.html"));
    for id in ["signin-form", "setup-form", "code-form", "video", "verdict"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "the page has #{id}");
    }
}

#[tokio::test]
async fn every_asset_the_page_loads_is_served_with_its_content_type() {
    let app = TestApp::spawn().await;
    let html = app.get("/gate").await.text().await.unwrap();
    let text = |file: &str| String::from_utf8(source(file)).unwrap();
    let referenced = |text: &str, prefix: &str| -> Vec<String> {
        text.split(prefix).skip(1).map(|rest| rest.split(['"', '\'']).next().unwrap().to_owned()).collect()
    };
    let mut names = referenced(&html, "/gate/assets/");
    names.extend(referenced(&text("gate/gate.js"), "from './"));
    names.extend(referenced(&text("gate/camera.js"), "/gate/assets/"));
    names.sort();
    names.dedup();
    assert_eq!(names, ["camera.js", "gate.css", "gate.js", "jsQR-LICENSE.txt", "jsQR.js"]);

    for (name, file, content_type) in [
        ("gate.js", "gate/gate.js", "text/javascript; charset=utf-8"),
        ("camera.js", "gate/camera.js", "text/javascript; charset=utf-8"),
        ("gate.css", "gate/gate.css", "text/css; charset=utf-8"),
        ("jsQR.js", "vendor/jsQR.js", "text/javascript; charset=utf-8"),
        ("jsQR-LICENSE.txt", "vendor/jsQR-LICENSE.txt", "text/plain; charset=utf-8"),
    ] {
        let resp = app.get(&format!("/gate/assets/{name}")).await;
        assert_eq!(resp.status(), StatusCode::OK, "{name}");
        assert_eq!(header_of(&resp, header::CONTENT_TYPE), content_type, "{name}");
        assert_eq!(header_of(&resp, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{name}");
        assert_eq!(header_of(&resp, header::CACHE_CONTROL), "no-cache", "{name}");
        assert_eq!(resp.bytes().await.unwrap(), source(file), "{name} is the committed file");
    }
}

#[tokio::test]
async fn an_unchanged_asset_is_revalidated_with_304_and_an_unknown_one_is_a_problem() {
    let app = TestApp::spawn().await;
    let first = app.get("/gate/assets/gate.js").await;
    let etag = header_of(&first, header::ETAG);
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag:?}");

    let again =
        app.client.get(app.url("/gate/assets/gate.js")).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
    let other = app.client.get(app.url("/gate/assets/gate.js")).header(header::IF_NONE_MATCH, "\"x\"").send().await;

    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
    assert_eq!(other.unwrap().status(), StatusCode::OK);
    assert_ne!(etag, header_of(&app.get("/gate/assets/gate.css").await, header::ETAG));
    problem(app.get("/gate/assets/secrets.txt").await, StatusCode::NOT_FOUND, "not-found").await;
    problem(app.get("/gate/assets/..%2Fgate%2Findex.html").await, StatusCode::NOT_FOUND, "not-found").await;
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().expect("array").iter().map(|v| v["id"].as_i64().expect("id")).collect()
}

#[tokio::test]
async fn gate_places_lists_our_gates_by_venue_and_the_sessions_at_each() {
    let app = TestApp::spawn().await;

    let places = json_body(app.get_as("/gate/places", &app.organiser.gate_token).await, StatusCode::OK).await;

    let venues = places["venues"].as_array().unwrap();
    let names: Vec<_> = venues.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Olympic Hall", "River Park"]);
    assert_eq!(ids(&venues[0]["gates"]), app.hall_gates.map(|g| g.0));
    assert_eq!(ids(&venues[1]["gates"]), [app.park_gate.0]);
    let sessions = places["sessions"].as_array().unwrap();
    let listed: Vec<_> = sessions.iter().map(|s| (s["id"].as_i64().unwrap(), s["venue_id"].clone())).collect();
    let (hall, park) = (venues[0]["id"].clone(), venues[1]["id"].clone());
    assert_eq!(
        listed,
        [(app.concert.sessions[0].0, hall.clone()), (app.festival.session.0, park), (app.concert.sessions[1].0, hall),],
        "soonest first, each at its venue"
    );
    let tonight = &sessions[0];
    assert_eq!((tonight["event_name"].as_str(), tonight["label"].as_str()), (Some("Aurora Live"), Some("Tonight")));
    assert_eq!(tonight["event_id"], app.concert.event.0);
    for field in ["doors_at", "starts_at", "ends_at"] {
        assert!(tonight[field].as_str().is_some_and(|t| t.ends_with('Z')), "{field}: {tonight}");
    }
}

#[tokio::test]
async fn gate_places_shows_staff_only_their_own_organisers_places() {
    let app = TestApp::spawn().await;

    let ours = json_body(app.get_as("/gate/places", &app.organiser.admin_token).await, StatusCode::OK).await;
    let theirs = json_body(app.get_as("/gate/places", &app.rival.gate_token).await, StatusCode::OK).await;

    assert_eq!(ours["venues"].as_array().unwrap().len(), 2, "admins see the same list as gate staff");
    assert_eq!(ids(&theirs["venues"][0]["gates"]), [app.rival_gate.0]);
    assert_eq!(theirs["venues"].as_array().unwrap().len(), 1);
    assert_eq!(ids(&theirs["sessions"]), [app.rival_event.session.0]);
    let text = ours.to_string();
    assert!(!text.contains("Rival"), "no trace of the other organiser: {text}");
    assert!(!text.contains("price") && !text.contains("sold"), "nothing about sales: {text}");
}

#[tokio::test]
async fn gate_places_needs_a_staff_token() {
    let app = TestApp::spawn().await;

    problem(app.get("/gate/places").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem(app.get_as("/gate/places", "admit_gate_unknown").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let in_query = app.get(&format!("/gate/places?token={}", app.organiser.gate_token)).await;
    problem(in_query, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
