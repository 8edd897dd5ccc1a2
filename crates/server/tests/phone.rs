//! The buyer's phone against the real server: one-time login links and the session cookie,
//! live tickets only for the orders a session opened, device binding (a re-issue that revokes
//! every earlier credential), moving a ticket to another phone, the "Check" inspection, the
//! printable static ticket, and bad input answered with problem+json that changes nothing.

mod support;

use admit_credential::{DeviceAlgorithm, DeviceSigner};
use admit_store::NewLoginLink;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use support::phone::{Phone, now_s};
use support::{TestApp, json_body, problem};

/// Buys `quantity` tickets of the festival's two-entry PASS (or the concert's VIP seats).
async fn order(app: &TestApp, pass: bool, quantity: u32) -> Value {
    if pass {
        app.buy(app.festival.session, app.festival.pass, quantity).await
    } else {
        app.buy(app.concert.sessions[0], app.concert.vip, quantity).await
    }
}

fn login_url(order: &Value) -> String {
    order["login_url"].as_str().unwrap_or_else(|| panic!("an order confirmation with a login_url: {order}")).to_owned()
}

/// `POST /orders/{id}/login-link`: a fresh login link for the order (`{"login_url": …}`).
async fn fresh_link(app: &TestApp, order: &Value) -> Value {
    let path = format!("/orders/{}/login-link", order["id"].as_str().unwrap());
    json_body(app.client.post(app.url(&path)).send().await.unwrap(), StatusCode::CREATED).await
}

/// A phone that opened the order's login link.
async fn phone_for(app: &TestApp, order: &Value) -> Phone {
    let mut phone = Phone::new(&app.base_url);
    let opened = phone.open(&login_url(order)).await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER, "the login link redirects");
    phone
}

async fn ticket_json(phone: &Phone, id: &str) -> Value {
    json_body(phone.get(&format!("/my/api/tickets/{id}")).await, StatusCode::OK).await
}

fn first_ticket_id(order: &Value) -> String {
    order["tickets"][0]["id"].as_str().expect("ticket id").to_owned()
}

async fn html(resp: reqwest::Response, status: StatusCode) -> String {
    let (got, url) = (resp.status(), resp.url().clone());
    let ct = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = resp.text().await.expect("body");
    assert_eq!(got, status, "{url}: {body}");
    assert!(ct.starts_with("text/html"), "{url}: content type {ct}");
    body
}

#[tokio::test]
async fn a_login_link_opens_the_tickets_once_and_sets_a_private_cookie() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 2).await;
    let mut phone = Phone::new(&app.base_url);

    let opened = phone.open(&login_url(&order)).await;

    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_eq!(opened.headers()[header::LOCATION], "/my/tickets");
    let cookie = opened.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    for part in ["admit_buyer=", "HttpOnly", "SameSite=Lax", "Path=/my", "Max-Age=", "Secure"] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    let tickets = json_body(phone.get("/my/api/tickets").await, StatusCode::OK).await;
    let ids: Vec<&str> = tickets.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    let ordered: Vec<&str> = order["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ordered);

    let mut thief = Phone::new(&app.base_url);
    let again = thief.open(&login_url(&order)).await;
    assert!(again.headers().get(header::SET_COOKIE).is_none(), "a used link sets no cookie");
    let page = html(again, StatusCode::GONE).await;
    assert!(page.contains("already used"), "{page}");
    problem(thief.get("/my/api/tickets").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn an_expired_or_unknown_login_link_is_refused_and_logs_nobody_in() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let token = "0123456789abcdef0123456789abcdef";
    let now = support::fixtures::now_ms();
    app.store
        .create_login_link(NewLoginLink {
            token_hash: admit_server::auth::token_hash(token),
            order_id: order["id"].as_str().unwrap().into(),
            now_ms: now - 25 * support::fixtures::HOUR,
            expires_at_ms: now - support::fixtures::HOUR,
        })
        .await
        .unwrap();
    let mut phone = Phone::new(&app.base_url);

    let expired = phone.open(&format!("/my/login/{token}")).await;
    let unknown = phone.open("/my/login/ffffffffffffffffffffffffffffffff").await;
    let garbage = phone.open("/my/login/%3Cscript%3E").await;

    assert!(html(expired, StatusCode::GONE).await.contains("expired"));
    assert!(html(unknown, StatusCode::NOT_FOUND).await.contains("not valid"));
    let page = html(garbage, StatusCode::NOT_FOUND).await;
    assert!(!page.contains("<script>"), "{page}");
    assert!(phone.cookie.is_none());
}

#[tokio::test]
async fn every_order_opened_in_one_browser_is_listed_and_a_fresh_link_is_asked_for_explicitly() {
    let app = TestApp::spawn().await;
    let (first, second) = (order(&app, false, 1).await, order(&app, true, 2).await);
    let mut phone = phone_for(&app, &first).await;
    let session = phone.cookie.clone();

    let fresh = fresh_link(&app, &second).await;
    assert_ne!(login_url(&fresh), login_url(&second), "asking makes a new link");
    assert_eq!(phone.open(&login_url(&fresh)).await.status(), StatusCode::SEE_OTHER);

    assert_eq!(phone.cookie, session, "the browser keeps one session");
    let tickets = json_body(phone.get("/my/api/tickets").await, StatusCode::OK).await;
    assert_eq!(tickets.as_array().unwrap().len(), 3);
    let mut other = Phone::new(&app.base_url);
    assert_eq!(
        other.open(&login_url(&second)).await.status(),
        StatusCode::SEE_OTHER,
        "the older link still works once"
    );
}

#[tokio::test]
async fn the_ticket_shows_every_field_and_another_orders_ticket_is_not_found() {
    let app = TestApp::spawn().await;
    let mine = order(&app, false, 1).await;
    let theirs = order(&app, false, 1).await;
    let phone = phone_for(&app, &mine).await;

    let t = ticket_json(&phone, &first_ticket_id(&mine)).await;

    assert_eq!(t["event"]["name"], "Aurora Live");
    assert_eq!((t["event"]["venue"].as_str(), t["event"]["city"].as_str()), (Some("Olympic Hall"), Some("Seoul")));
    assert_eq!(t["session"]["label"], "Tonight");
    for field in ["starts_at", "ends_at", "doors_at"] {
        assert!(t["session"][field].is_string(), "{field}: {t}");
    }
    assert_eq!((t["grade"]["code"].as_str(), t["grade"]["name"].as_str()), (Some("VIP"), Some("VIP ticket")));
    assert_eq!(t["seat"], mine["tickets"][0]["seat"]);
    assert_eq!((t["quantity"].as_u64(), t["order_quantity"].as_u64()), (Some(1), Some(1)));
    assert_eq!((t["holder"].as_str(), t["status"].as_str()), (Some("bearer"), Some("valid")));
    assert_eq!((t["entries_used"].as_u64(), t["max_entries"].as_u64()), (Some(0), Some(1)));
    assert_eq!(t["credential"], mine["tickets"][0]["credential"]);
    assert_eq!(t["credential_policy"]["rotation_seconds"], 10);
    assert!(t["server_time_ms"].as_i64().is_some_and(|ms| (ms - support::fixtures::now_ms()).abs() < 60_000));

    let stranger = first_ticket_id(&theirs);
    problem(phone.get(&format!("/my/api/tickets/{stranger}")).await, StatusCode::NOT_FOUND, "not-found").await;
    problem(
        phone.post(&format!("/my/api/tickets/{stranger}/inspection"), None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    problem(phone.get("/my/api/tickets/not-a-number").await, StatusCode::NOT_FOUND, "not-found").await;
    html(phone.get(&format!("/my/tickets/{stranger}/print")).await, StatusCode::NOT_FOUND).await;
    let anonymous = Phone::new(&app.base_url);
    problem(anonymous.get(&format!("/my/api/tickets/{stranger}")).await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
}

#[tokio::test]
async fn binding_a_phone_bumps_the_version_and_the_old_static_credential_is_denied_as_revoked() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let phone = phone_for(&app, &order).await;
    let before = ticket_json(&phone, &first_ticket_id(&order)).await;

    let bound = json_body(phone.bind(&before, false).await, StatusCode::OK).await;

    assert_eq!((bound["version"].as_u64(), bound["holder"].as_str()), (Some(2), Some("device")));
    assert_eq!(bound["device"]["algorithm"], "Ed25519");
    assert_ne!(bound["credential"], before["credential"]);
    let id: i64 = before["id"].as_str().unwrap().parse().unwrap();
    let log = app.store.device_bindings(admit_domain::TicketId(id)).await.unwrap();
    assert_eq!((log.len(), log[0].old.is_none(), log[0].new.public_key.clone()), (1, true, phone.device.public_raw()));
    let session = app.concert.sessions[0];
    let old = app.scan_verdict(before["credential"].as_str().unwrap(), app.hall_gates[0], session).await;
    assert_eq!((old["verdict"].as_str(), old["reason"].as_str()), (Some("deny"), Some("revoked_version")));
    let shown_static = app.scan_verdict(bound["credential"].as_str().unwrap(), app.hall_gates[0], session).await;
    assert_eq!(shown_static["reason"], "device_proof_missing", "a bound credential needs the phone's signature");
    let live = app.scan_verdict(&phone.presentation(&bound), app.hall_gates[0], session).await;
    assert_eq!(live["verdict"], "admit", "{live}");

    let again = json_body(phone.bind(&bound, false).await, StatusCode::OK).await;
    assert_eq!(again["version"], 2, "binding the same key again changes nothing");
}

#[tokio::test]
async fn moving_to_another_phone_needs_the_flag_and_revokes_the_old_phone() {
    let app = TestApp::spawn().await;
    let order = order(&app, true, 1).await;
    let old_phone = phone_for(&app, &order).await;
    let id = first_ticket_id(&order);
    let on_old = json_body(old_phone.bind(&ticket_json(&old_phone, &id).await, false).await, StatusCode::OK).await;
    let fresh = fresh_link(&app, &order).await;
    let mut new_phone = Phone::with_key(&app.base_url, DeviceSigner::generate(DeviceAlgorithm::P256));
    assert_eq!(new_phone.open(&login_url(&fresh)).await.status(), StatusCode::SEE_OTHER);
    let seen = ticket_json(&new_phone, &id).await;

    let refused = problem(new_phone.bind(&seen, false).await, StatusCode::CONFLICT, "device-already-bound").await;
    let moved = json_body(new_phone.bind(&seen, true).await, StatusCode::OK).await;

    assert!(refused["detail"].as_str().unwrap().contains("rebind"), "{refused}");
    assert_eq!((moved["version"].as_u64(), moved["device"]["algorithm"].as_str()), (Some(3), Some("P-256")));
    let log = app.store.device_bindings(admit_domain::TicketId(id.parse().unwrap())).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].old.as_ref().map(|k| k.public_key.clone()), Some(old_phone.device.public_raw()));
    let (gate, session) = (app.park_gate, app.festival.session);
    let stale_phone = app.scan_verdict(&old_phone.presentation(&on_old), gate, session).await;
    assert_eq!(
        (stale_phone["verdict"].as_str(), stale_phone["reason"].as_str()),
        (Some("deny"), Some("revoked_version"))
    );
    let old_key_on_new = app.scan_verdict(&old_phone.presentation(&moved), gate, session).await;
    assert_eq!(old_key_on_new["reason"], "bad_device_signature");
    let admitted = app.scan_verdict(&new_phone.presentation(&moved), gate, session).await;
    assert_eq!(admitted["verdict"], "admit", "{admitted}");
}

#[tokio::test]
async fn a_registration_with_bad_input_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let phone = phone_for(&app, &order).await;
    let t = ticket_json(&phone, &first_ticket_id(&order)).await;
    let path = format!("/my/api/tickets/{}/device", t["id"].as_str().unwrap());
    let good = phone.registration(&t, now_s(), false);
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let impostor = Phone::new(&app.base_url).registration(&t, now_s(), false);

    let cases = [
        (with("algorithm", json!("RSA")), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (with("public_key", json!("***")), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (with("public_key", json!("AAAA")), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (with("proof", json!("AAAA")), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (with("proof", impostor["proof"].clone()), StatusCode::UNPROCESSABLE_ENTITY, "device-proof-invalid"),
        (phone.registration(&t, now_s() - 3600, false), StatusCode::UNPROCESSABLE_ENTITY, "device-proof-stale"),
        (with("version", json!(7)), StatusCode::CONFLICT, "ticket-version-changed"),
        (with("extra", json!(1)), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (json!({ "algorithm": "Ed25519" }), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
    ];
    for (body, status, slug) in cases {
        problem(phone.post(&path, Some(&body)).await, status, slug).await;
    }
    let not_json =
        phone.http.post(format!("{}{path}", app.base_url)).header(header::COOKIE, phone.cookie.clone().unwrap());
    let not_json = not_json.header(header::CONTENT_TYPE, "application/json").body("{").send().await.unwrap();
    problem(not_json, StatusCode::BAD_REQUEST, "malformed-request").await;

    let after = ticket_json(&phone, t["id"].as_str().unwrap()).await;
    assert_eq!((after["version"].as_u64(), after["device"].is_null()), (Some(1), true));
    assert_eq!(after["credential"], t["credential"]);
}

#[tokio::test]
async fn check_reveals_the_password_in_the_manifest_and_marks_the_ticket_used() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let phone = phone_for(&app, &order).await;
    let id = first_ticket_id(&order);
    let path = format!("/my/api/tickets/{id}/inspection");

    let first = json_body(phone.post(&path, None).await, StatusCode::OK).await;
    let second = json_body(phone.post(&path, None).await, StatusCode::OK).await;

    let session = app.concert.sessions[0];
    let manifest = app.manifest(session, &app.organiser.gate_token).await;
    let row = manifest.iter().find(|r| r["reference"] == order["tickets"][0]["reference"]).expect("in the manifest");
    assert_eq!((first["verdict"].as_str(), first["status"].as_str()), (Some("admit"), Some("used")));
    assert_eq!(first["inspection_id"], row["inspection_id"]);
    assert_eq!(first["inspection_password"], row["inspection_password"]);
    assert_eq!((row["status"].as_str(), row["entries_used"].as_u64()), (Some("used"), Some(1)));
    assert_eq!((second["verdict"].as_str(), second["reason"].as_str()), (Some("deny"), Some("already_used")));
    assert_eq!(
        second["inspection_password"], row["inspection_password"],
        "an already-used ticket still shows its password"
    );
    let at_gate =
        app.scan_verdict(order["tickets"][0]["credential"].as_str().unwrap(), app.hall_gates[0], session).await;
    assert_eq!(at_gate["reason"], "already_used");
    assert_eq!(app.store.inspections(admit_domain::TicketId(id.parse().unwrap())).await.unwrap().len(), 2);
    assert_eq!(ticket_json(&phone, &id).await["status"], "used");
}

#[tokio::test]
async fn the_print_page_marks_the_static_credential_and_a_bound_ticket_explains_itself() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let phone = phone_for(&app, &order).await;
    let id = first_ticket_id(&order);

    let printable = html(phone.get(&format!("/my/tickets/{id}/print")).await, StatusCode::OK).await;

    assert!(printable.contains("STATIC TICKET — valid only where the organiser accepts printed tickets"));
    let credential = order["tickets"][0]["credential"].as_str().unwrap();
    assert!(printable.contains(&format!("data-payload=\"{credential}\"")), "{printable}");
    assert!(printable.contains("data:image/svg+xml;base64,"));
    json_body(phone.bind(&ticket_json(&phone, &id).await, false).await, StatusCode::OK).await;
    let bound = html(phone.get(&format!("/my/tickets/{id}/print")).await, StatusCode::CONFLICT).await;
    assert!(bound.contains("bound to a phone") && !bound.contains("data-payload"), "{bound}");
    let anonymous = Phone::new(&app.base_url);
    html(anonymous.get(&format!("/my/tickets/{id}/print")).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn the_phone_pages_and_their_assets_are_served_with_their_types() {
    let app = TestApp::spawn().await;
    let phone = Phone::new(&app.base_url);
    let cases = [
        ("/my/tickets", "text/html; charset=utf-8"),
        ("/my/tickets/123", "text/html; charset=utf-8"),
        ("/my/assets/ticket.js", "text/javascript; charset=utf-8"),
        ("/my/assets/vendor/qrcode.mjs", "text/javascript; charset=utf-8"),
        ("/my/assets/phone.css", "text/css; charset=utf-8"),
        ("/my/sw.js", "text/javascript; charset=utf-8"),
        ("/my/manifest.webmanifest", "application/manifest+json"),
        ("/my/assets/icon.svg", "image/svg+xml"),
    ];
    for (path, content_type) in cases {
        let resp = phone.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{path}");
        let etag = resp.headers()[header::ETAG].clone();
        let again = phone.http.get(app.url(path)).header(header::IF_NONE_MATCH, etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path} revalidates");
    }
    let page = phone.get("/my/tickets").await;
    assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
    let manifest: Value = phone.get("/my/manifest.webmanifest").await.json().await.unwrap();
    assert_eq!((manifest["start_url"].as_str(), manifest["scope"].as_str()), (Some("/my/tickets"), Some("/my/")));
    html(phone.get("/my/assets/nope.js").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn when_the_organiser_refuses_printed_tickets_the_static_ticket_is_refused_readably() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let phone = phone_for(&app, &order).await;
    let id = first_ticket_id(&order);
    let policy = json!({ "static_accepted": false, "rotation_seconds": 5, "proof_window_seconds": 20 });
    let path = format!("/events/{}/credential-policy", app.concert.event.0);
    let set =
        app.client.put(app.url(&path)).bearer_auth(&app.organiser.admin_token).json(&policy).send().await.unwrap();
    json_body(set, StatusCode::OK).await;

    let print = html(phone.get(&format!("/my/tickets/{id}/print")).await, StatusCode::FORBIDDEN).await;
    let order_id = order["id"].as_str().unwrap();
    let png = app.get(&format!("/orders/{order_id}/tickets/{id}/qr.png")).await;
    let ticket = ticket_json(&phone, &id).await;

    assert!(print.contains("not accepted") && !print.contains("data-payload"), "{print}");
    problem(png, StatusCode::CONFLICT, "static-not-accepted").await;
    assert_eq!(ticket["credential_policy"], policy, "the phone learns the rotation and the window");
}

#[tokio::test]
async fn a_login_link_never_adopts_a_session_token_the_browser_brought() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let planted = format!("admit_buyer={}", "ab".repeat(32));
    let mut victim = Phone::new(&app.base_url);
    victim.cookie = Some(planted.clone());

    let opened = victim.open(&login_url(&order)).await;

    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_ne!(victim.cookie.as_deref(), Some(planted.as_str()), "the server chose a fresh session");
    let tickets = json_body(victim.get("/my/api/tickets").await, StatusCode::OK).await;
    assert_eq!(tickets.as_array().unwrap().len(), 1);
    let mut attacker = Phone::new(&app.base_url);
    attacker.cookie = Some(planted);
    problem(attacker.get("/my/api/tickets").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn reading_an_order_writes_no_login_link_and_an_unknown_order_gets_none() {
    let app = TestApp::spawn().await;
    let order = order(&app, false, 1).await;
    let id = order["id"].as_str().unwrap();

    let read = json_body(app.get(&format!("/orders/{id}")).await, StatusCode::OK).await;

    assert!(read.get("login_url").is_none(), "a read carries no link: {read}");
    let unknown = app.client.post(app.url("/orders/no-such-order/login-link")).send().await.unwrap();
    problem(unknown, StatusCode::NOT_FOUND, "not-found").await;
}
