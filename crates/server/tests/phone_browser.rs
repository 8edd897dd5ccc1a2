//! The buyer's phone in real headless Chromium (Debian's `chromium` + `chromedriver`): a phone
//! opens its login link, the ticket page binds a WebCrypto key, and the QR payload it shows is
//! admitted by the Rust verifier (`KeyRing::verify_scanned`) and by the real `POST
//! /gate/scans`; a second phone (fresh profile, another key) showing the same ticket is
//! denied until it explicitly moves the ticket over, which revokes the first phone; and an
//! opened ticket still shows and produces its code with the server gone.

mod support;

use admit_credential::{HolderBinding, KeyRing, ProofPolicy, Rejection, Scanned, Verified};
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::time::Duration;
use support::chromium::Chromium;
use support::{TestApp, fixtures::now_ms, json_body};

const WAIT: Duration = Duration::from_secs(30);

fn login_url(order: &Value) -> String {
    order["login_url"].as_str().unwrap_or_else(|| panic!("a login_url in {order}")).to_owned()
}

/// Opens `path` on the phone, waits for the ticket page's code, and returns its payload.
async fn code_on(phone: &Client, mode_selector: &str) -> String {
    let qr = phone
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(mode_selector))
        .await
        .unwrap_or_else(|e| panic!("no {mode_selector} on the page: {e}"));
    qr.attr("data-payload").await.expect("read data-payload").expect("the QR element carries data-payload")
}

/// Waits until the code differs from `previous` (the page refreshed it) and returns it.
async fn next_code(phone: &Client, previous: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let now = code_on(phone, "#qr[data-payload]").await;
        if now != previous {
            return now;
        }
        assert!(started.elapsed() < WAIT, "the code never changed from {previous}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn ring_for(app: &TestApp) -> KeyRing {
    let keys = app.store.event_keys(app.festival.event).await.expect("event keys");
    let mut ring = KeyRing::new();
    ring.insert(keys.key_id, &keys.public_key).expect("a valid key");
    ring
}

fn verify(ring: &KeyRing, payload: &str) -> Result<Verified, Rejection> {
    ring.verify_scanned(&Scanned::parse(payload)?, now_ms().div_euclid(1000), &ProofPolicy::default())
}

/// Opens the login link, follows the list to the ticket page.
async fn open_ticket(phone: &Client, app: &TestApp, link: &str, ticket_id: &str) {
    phone.goto(&app.url(link)).await.expect("open the login link");
    let entry = phone
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&format!("a[data-ticket-id=\"{ticket_id}\"]")))
        .await
        .expect("the ticket is listed after login");
    entry.click().await.expect("open the ticket");
}

async fn scan(app: &TestApp, payload: &str) -> Value {
    app.scan_verdict(payload, app.park_gate, app.festival.session).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_phone_is_admitted_and_another_phone_with_the_same_ticket_is_denied() {
    let Some(chromium) =
        Chromium::start("a_bound_phone_is_admitted_and_another_phone_with_the_same_ticket_is_denied").await
    else {
        return;
    };
    let app = TestApp::spawn().await;
    let order = app.buy(app.festival.session, app.festival.pass, 1).await; // two entries
    let ticket_id = order["tickets"][0]["id"].as_str().expect("ticket id").to_owned();
    let ring = ring_for(&app).await;

    // The first phone binds its Ed25519 key on first open and shows a rotating code.
    let first = chromium.new_session().await;
    open_ticket(&first, &app, &login_url(&order), &ticket_id).await;
    let code = code_on(&first, "#qr[data-mode=\"dynamic\"]").await;
    assert!(code.starts_with("ADP1:"), "{code}");
    let verified = verify(&ring, &code).expect("the Rust verifier accepts the browser's presentation");
    assert!(verified.device_proof);
    assert_eq!((verified.payload.ticket_id.to_string(), verified.payload.ticket_version), (ticket_id.clone(), 2));
    assert!(matches!(verified.payload.holder, HolderBinding::DeviceEd25519(_)), "{:?}", verified.payload.holder);
    let admitted = scan(&app, &code).await;
    assert_eq!(admitted["verdict"], "admit", "{admitted}");
    let rotated = next_code(&first, &code).await;
    verify(&ring, &rotated).expect("the refreshed code verifies too");

    // A second phone (fresh profile, a P-256 key) with the same ticket: its code is refused.
    let second = chromium.new_session().await;
    second.goto(&app.url("/my/tickets")).await.expect("open the site");
    second.execute("localStorage.setItem('admit.deviceAlgorithm', 'P-256')", vec![]).await.expect("prefer P-256");
    let link = app.client.post(app.url(&format!("/orders/{}/login-link", order["id"].as_str().unwrap())));
    let again = json_body(link.send().await.expect("POST login-link"), reqwest::StatusCode::CREATED).await;
    open_ticket(&second, &app, &login_url(&again), &ticket_id).await;
    second.wait().at_most(WAIT).for_element(Locator::Css("#move:not([hidden])")).await.expect("offers to move");
    let copy = code_on(&second, "#qr[data-mode=\"dynamic\"].refused").await;
    assert_eq!(verify(&ring, &copy).err(), Some(Rejection::BadDeviceSignature));
    let denied = scan(&app, &copy).await;
    assert_eq!((denied["verdict"].as_str(), denied["reason"].as_str()), (Some("deny"), Some("bad_device_signature")));

    // Moving it over (two taps) re-binds to the second phone and revokes the first.
    let first_before_move = code_on(&first, "#qr[data-mode=\"dynamic\"]").await;
    let move_button = second.find(Locator::Css("#move")).await.expect("move button");
    move_button.click().await.expect("first tap");
    move_button.click().await.expect("confirming tap");
    second.wait().at_most(WAIT).for_element(Locator::Css("#move[hidden]")).await.expect("moved");
    let moved = code_on(&second, "#qr[data-mode=\"dynamic\"]:not(.refused)").await;
    let on_second = verify(&ring, &moved).expect("the moved ticket verifies");
    assert!(matches!(on_second.payload.holder, HolderBinding::DeviceP256(_)), "{:?}", on_second.payload.holder);
    assert_eq!(on_second.payload.ticket_version, 3);
    let second_entry = scan(&app, &moved).await;
    assert_eq!((second_entry["verdict"].as_str(), second_entry["entries_used"].as_u64()), (Some("admit"), Some(2)));
    let stale = scan(&app, &first_before_move).await;
    assert_eq!((stale["verdict"].as_str(), stale["reason"].as_str()), (Some("deny"), Some("revoked_version")));

    // With the server gone, the opened ticket still shows and still produces a valid code.
    let started = std::time::Instant::now();
    while second.execute("return !!navigator.serviceWorker.controller", vec![]).await.expect("ask the page") != true {
        assert!(started.elapsed() < WAIT, "the service worker never took control of the page");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.stop().await;
    second.refresh().await.expect("reload without the server");
    let offline = next_code(&second, &moved).await;
    let still = verify(&ring, &offline).expect("the offline code verifies");
    assert_eq!((still.payload.ticket_version, still.device_proof), (3, true));
    let status = second.find(Locator::Id("status")).await.expect("status").text().await.expect("text");
    assert!(status.contains("Offline"), "{status}");

    first.close().await.expect("close the first phone");
    second.close().await.expect("close the second phone");
}
