//! The browser gate page in real headless Chromium against the real server: staff sign in with
//! a staff token, pick a gate and a session, and check tickets by keyboard-wedge/typed input or
//! by the camera (a fake camera playing a video of a ticket's QR code); verdicts come from
//! `POST /gate/scans` only, and a lost network never looks like an admit.

mod camera;
mod page;
mod proxy;
#[path = "../support/mod.rs"]
mod support;

use admit_credential::{Credential, DeviceAlgorithm, DeviceSigner, Issuer, Payload};
use admit_domain::SessionId;
use page::{choose, local_storage, open, sign_in, text_of, type_code, until, verdict};
use proxy::{FlakyProxy, Network};
use serde_json::Value;
use std::time::Duration;
use support::TestApp;
use support::chromium::Chromium;

/// Buys one VIP ticket for the concert's first session: (credential, seat label).
async fn ticket(app: &TestApp) -> (String, String) {
    let order = app.buy(app.concert.sessions[0], app.concert.vip, 1).await;
    let t = &order["tickets"][0];
    (t["credential"].as_str().unwrap().to_owned(), t["seat"].as_str().unwrap().to_owned())
}

/// How many entries the manifest records for the session's tickets.
async fn entries_used(app: &TestApp, session: SessionId) -> u64 {
    let rows = app.manifest(session, &app.organiser.gate_token).await;
    rows.iter().map(|r| r["entries_used"].as_u64().unwrap()).sum()
}

#[tokio::test]
async fn staff_sign_in_choose_a_gate_and_check_typed_codes_admit_once_then_deny() {
    let Some(chromium) = Chromium::start("gate page: typed codes").await else { return };
    let app = TestApp::spawn().await;
    let (credential, seat) = ticket(&app).await;
    let payload = Credential::from_text(&credential).unwrap().payload_unverified().unwrap();
    let forged = Issuer::generate(app.concert.keys.key_id).issue(payload).unwrap().to_text();
    let page = chromium.new_session().await;

    open(&page, &app.url("/gate")).await;
    sign_in(&page, "admit_gate_not-a-real-token").await;
    until(&page, "the refusal", "document.getElementById('signin-error').textContent.includes('not valid')").await;
    assert_eq!(local_storage(&page, "admit.gate.token").await, Value::Null, "a refused token is not kept");
    sign_in(&page, &app.organiser.gate_token).await;
    choose(&page, app.hall_gates[0].0, app.concert.sessions[0].0).await;
    assert!(text_of(&page, "#where").await.contains("Olympic Hall"));

    type_code(&page, &credential).await;
    let admit = verdict(&page, 1).await;
    assert_eq!((&admit["state"], &admit["word"], &admit["visible"]), (&"admit".into(), &"ADMIT".into(), &true.into()));
    assert_eq!((admit["seat"].as_str(), admit["count"].as_str()), (Some(seat.as_str()), Some("1 person")));
    assert_eq!((admit["grade"].as_str(), admit["entries"].as_str()), (Some("VIP"), Some("1 of 1")));
    assert_eq!(admit["beeps"], 0, "no alarm on admit");
    assert_eq!(admit["event"], "Aurora Live", "every verdict names the event");
    let admitted = "document.getElementById('verdict-admitted').textContent === '1'";
    until(&page, "the gate's count of people admitted", admitted).await;

    // Typed again at once: asked again, never the earlier ADMIT shown once more.
    type_code(&page, &credential).await;
    let used = verdict(&page, 2).await;
    assert_eq!(
        (&used["state"], &used["word"], &used["reason"]),
        (&"deny".into(), &"DENY".into(), &"already_used".into())
    );
    assert!(used["message"].as_str().unwrap().contains("already used"), "{used}");
    assert_eq!((used["seat"].as_str(), used["beeps"].as_u64()), (Some(seat.as_str()), Some(1)), "{used}");

    assert_eq!((&used["event"], &used["admitted"]), (&"Aurora Live".into(), &"1".into()), "a deny counts no one");
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 1);

    type_code(&page, &forged).await;
    let bad = verdict(&page, 3).await;
    assert_eq!((&bad["state"], &bad["reason"]), (&"deny".into(), &"bad_signature".into()), "{bad}");
    assert_eq!(bad["beeps"], 2);

    let token = local_storage(&page, "admit.gate.token").await;
    assert_eq!(token.as_str(), Some(app.organiser.gate_token.as_str()), "the token stays on the device");
    assert!(!page.current_url().await.unwrap().as_str().contains("admit_"), "and never in a URL");
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 1);
    page.close().await.expect("close the browser");
}

#[tokio::test]
async fn a_reload_keeps_the_gate_and_signing_out_forgets_the_token() {
    let Some(chromium) = Chromium::start("gate page: reload and sign out").await else { return };
    let app = TestApp::spawn().await;
    let page = chromium.new_session().await;
    open(&page, &app.url("/gate")).await;
    sign_in(&page, &app.organiser.gate_token).await;
    choose(&page, app.park_gate.0, app.festival.session.0).await;

    open(&page, &app.url("/gate")).await;

    assert_eq!(until(&page, "the scan screen", "document.body.dataset.screen").await, "scan");
    assert!(text_of(&page, "#where").await.contains("River Festival"));
    page.find(fantoccini::Locator::Css("#change")).await.unwrap().click().await.unwrap();
    until(&page, "the setup screen", "document.body.dataset.screen === 'setup'").await;
    let gate: Value = page.execute("return document.getElementById('gate').value", vec![]).await.unwrap();
    assert_eq!(gate, app.park_gate.0.to_string(), "the current gate is preselected");
    page.find(fantoccini::Locator::Css("#signout")).await.unwrap().click().await.unwrap();
    until(&page, "the sign-in screen", "document.body.dataset.screen === 'signin'").await;
    assert_eq!(local_storage(&page, "admit.gate.token").await, Value::Null);
    assert_eq!(local_storage(&page, "admit.gate.place").await, Value::Null);
    page.close().await.expect("close the browser");
}

#[tokio::test]
async fn a_refused_scan_request_shows_not_checked_with_the_servers_reason() {
    let Some(chromium) = Chromium::start("gate page: refused request").await else { return };
    let app = TestApp::spawn().await;
    let (credential, _) = ticket(&app).await;
    let page = chromium.new_session().await;
    open(&page, &app.url("/gate")).await;
    sign_in(&page, &app.organiser.gate_token).await;
    choose(&page, app.hall_gates[0].0, app.concert.sessions[0].0).await;
    // A place remembered from before that no longer fits: the park's gate for the concert.
    let place = format!(r#"{{"gate_id":{},"session_id":{}}}"#, app.park_gate.0, app.concert.sessions[0].0);
    page.execute("localStorage.setItem('admit.gate.place', arguments[0]);", vec![Value::from(place)]).await.unwrap();
    open(&page, &app.url("/gate")).await;

    type_code(&page, &credential).await;

    let refused = verdict(&page, 1).await;
    assert_eq!((&refused["state"], &refused["word"]), (&"error".into(), &"NOT CHECKED".into()), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("is not at the venue"), "{refused}");
    assert_eq!((&refused["retry"], &refused["beeps"]), (&false.into(), &1.into()));
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 0);
    page.close().await.expect("close the browser");
}

#[tokio::test]
async fn without_an_answer_the_page_says_not_admitted_and_retry_gets_the_first_verdict() {
    let Some(chromium) = Chromium::start("gate page: no connection").await else { return };
    let app = TestApp::spawn().await;
    let (credential, seat) = ticket(&app).await;
    let proxy = FlakyProxy::start(app.base_url.trim_start_matches("http://")).await;
    let page = chromium.new_session().await;
    open(&page, &format!("{}/gate", proxy.base_url)).await;
    sign_in(&page, &app.organiser.gate_token).await;
    choose(&page, app.hall_gates[1].0, app.concert.sessions[0].0).await;

    proxy.set(Network::Down);
    type_code(&page, &credential).await;
    let offline = verdict(&page, 1).await;
    assert_eq!((&offline["state"], &offline["word"]), (&"offline".into(), &"NO CONNECTION".into()), "{offline}");
    assert!(offline["message"].as_str().unwrap().starts_with("Not admitted"), "{offline}");
    assert_eq!((&offline["retry"], &offline["beeps"]), (&true.into(), &1.into()));
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 0, "nothing reached the server");

    // The scan reaches the server and is admitted, but the answer is lost on the way back.
    proxy.set(Network::LoseAnswers);
    page.find(fantoccini::Locator::Css("#verdict-retry")).await.unwrap().click().await.unwrap();
    let lost = verdict(&page, 2).await;
    assert_eq!(lost["state"], "offline", "{lost}");
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 1, "the server did admit");

    proxy.set(Network::Up);
    page.find(fantoccini::Locator::Css("#verdict-retry")).await.unwrap().click().await.unwrap();
    let answered = verdict(&page, 3).await;
    assert_eq!((&answered["state"], answered["seat"].as_str()), (&"admit".into(), Some(seat.as_str())), "{answered}");
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 1, "the retry replayed the first verdict");
    page.close().await.expect("close the browser");
}

/// A browser whose camera shows `code` (a Y4M video of its QR), signed in at the concert's
/// first gate for tonight; the video file lives as long as the returned guard.
async fn camera_on(chromium: &Chromium, app: &TestApp, code: &str) -> (fantoccini::Client, tempfile::NamedTempFile) {
    let video = tempfile::Builder::new().suffix(".y4m").tempfile().expect("video file");
    camera::qr_video(code, video.path(), 5);
    let page = chromium
        .new_session_with(&[
            "--use-fake-device-for-media-stream".to_owned(),
            "--use-fake-ui-for-media-stream".to_owned(),
            format!("--use-file-for-fake-video-capture={}", video.path().display()),
        ])
        .await;
    open(&page, &app.url("/gate")).await;
    sign_in(&page, &app.organiser.gate_token).await;
    choose(&page, app.hall_gates[0].0, app.concert.sessions[0].0).await;
    (page, video)
}

#[tokio::test]
async fn the_camera_reads_a_tickets_qr_code_and_the_ticket_is_admitted_once() {
    let Some(chromium) = Chromium::start("gate page: camera").await else { return };
    let app = TestApp::spawn().await;
    let (credential, seat) = ticket(&app).await;

    let (page, _video) = camera_on(&chromium, &app, &credential).await;

    let admit = verdict(&page, 1).await;
    assert_eq!((&admit["state"], admit["seat"].as_str()), (&"admit".into(), Some(seat.as_str())), "{admit}");
    let decoder = until(&page, "the decoder's name", "document.body.dataset.decoder").await;
    let native: Value = page.execute("return 'BarcodeDetector' in window", vec![]).await.unwrap();
    let expected = if native == true { "BarcodeDetector" } else { "jsQR" };
    assert_eq!(decoder, expected, "the bundled decoder reads the code where the browser has none");
    eprintln!("the camera was decoded with {decoder}");

    // The code stays in view: it is not sent again, so no "already used" follows the admit.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after: Value = page.execute("return document.getElementById('verdict').dataset.seq", vec![]).await.unwrap();
    assert_eq!(after, "1", "one verdict only");
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 1);
    page.close().await.expect("close the browser");
}

#[tokio::test]
async fn the_camera_reads_a_phones_device_bound_presentation_and_a_stale_one_is_denied() {
    let Some(chromium) = Chromium::start("gate page: camera, device presentation").await else { return };
    let app = TestApp::spawn().await;
    let (credential, seat) = ticket(&app).await;
    let payload = Credential::from_text(&credential).unwrap().payload_unverified().unwrap();
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let issuer = Issuer::from_secret(app.concert.keys.key_id, &app.concert.keys.signing_secret);
    let bound = issuer.issue(Payload { holder: phone.binding(), ..payload }).unwrap();
    let now_s = u32::try_from(support::fixtures::now_ms() / 1000).unwrap();
    let live = phone.present(bound.clone(), now_s).to_text();
    let screenshot = phone.present(bound, now_s - 120).to_text();
    assert!(live.starts_with("ADP1:"));

    let (page, _video) = camera_on(&chromium, &app, &live).await;

    let admit = verdict(&page, 1).await;
    assert_eq!((&admit["state"], admit["seat"].as_str()), (&"admit".into(), Some(seat.as_str())), "{admit}");
    type_code(&page, &screenshot).await;
    let stale = verdict(&page, 2).await;
    assert_eq!((&stale["state"], &stale["reason"]), (&"deny".into(), &"stale_proof".into()), "{stale}");
    assert_eq!(entries_used(&app, app.concert.sessions[0]).await, 1);
    page.close().await.expect("close the browser");
}
