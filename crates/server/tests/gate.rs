//! The online gate check: only the organiser's staff may scan, only at the session's venue;
//! forged, tampered and unreadable codes are denied with stable reasons; a ticket admits at
//! most as many entries as its policy allows, even when gates race; a phone-bound ticket
//! admits only with a fresh proof from its own phone, and static codes only where the
//! organiser accepts them.

mod support;

use admit_credential::{Credential, DeviceAlgorithm, DeviceSigner, HolderBinding, Issuer, Payload};
use admit_domain::{Currency, EntryPolicy, EventKind, SeatingMode};
use admit_store::{EventKeys, NewEvent, NewGrade, NewSession};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::{TestApp, json_body, problem};

/// Buys one ticket of the concert's first session and returns its credential text.
async fn vip_ticket(app: &TestApp) -> String {
    let order = app.buy(app.concert.sessions[0], app.concert.vip, 1).await;
    order["tickets"][0]["credential"].as_str().unwrap().to_owned()
}

fn denied(verdict: &Value, reason: &str) {
    assert_eq!(
        (&verdict["verdict"], &verdict["reason"], &verdict["admits"]),
        (&"deny".into(), &reason.into(), &0.into()),
        "{verdict}"
    );
}

fn admitted(verdict: &Value, entries_used: u32, max_entries: u32) {
    assert_eq!((&verdict["verdict"], &verdict["admits"]), (&"admit".into(), &1.into()), "{verdict}");
    assert_eq!((&verdict["entries_used"], &verdict["max_entries"]), (&entries_used.into(), &max_entries.into()));
}

#[tokio::test]
async fn a_scan_without_a_valid_staff_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let credential = vip_ticket(&app).await;
    let body =
        json!({ "credential": credential, "gate_id": app.hall_gates[0].0, "session_id": app.concert.sessions[0].0 });

    let anonymous = app.post_json("/gate/scans", &body).await;
    problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for auth in ["Bearer admit_gate_not-a-token", "Basic dXNlcjpwYXNz", "Bearer "] {
        let resp =
            app.client.post(app.url("/gate/scans")).header("authorization", auth).json(&body).send().await.unwrap();
        problem(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    admitted(&app.scan_verdict(&credential, app.hall_gates[0], app.concert.sessions[0]).await, 1, 1);
}

#[tokio::test]
async fn another_organisers_staff_cannot_scan_at_our_gates() {
    let app = TestApp::spawn().await;
    let credential = vip_ticket(&app).await;

    let resp = app.scan(&credential, app.hall_gates[0], app.concert.sessions[0], &app.rival.gate_token).await;

    problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    admitted(&app.scan_verdict(&credential, app.hall_gates[0], app.concert.sessions[0]).await, 1, 1);
}

#[tokio::test]
async fn a_gate_of_another_venue_cannot_admit_for_this_session() {
    let app = TestApp::spawn().await;
    let credential = vip_ticket(&app).await;

    let resp = app.scan(&credential, app.park_gate, app.concert.sessions[0], &app.organiser.gate_token).await;

    problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let unknown_gate =
        app.scan(&credential, admit_domain::GateId(999_999), app.concert.sessions[0], &app.organiser.gate_token).await;
    problem(unknown_gate, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn tampered_unreadable_and_forged_credentials_are_denied_with_their_reasons() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let genuine = vip_ticket(&app).await;
    let parsed = Credential::from_text(&genuine).unwrap();
    let mut bytes = parsed.as_bytes().to_vec();
    *bytes.last_mut().unwrap() ^= 0x01;
    let bit_flipped = Credential::from_bytes(bytes).unwrap().to_text();
    let payload = parsed.payload_unverified().unwrap();
    let unknown_key = Issuer::generate(u32::MAX - 7).issue(payload.clone()).unwrap().to_text();
    let impostor = Issuer::generate(app.concert.keys.key_id).issue(payload.clone()).unwrap().to_text();

    for (credential, reason) in [
        (bit_flipped.as_str(), "bad_signature"),
        ("hello, gate", "malformed"),
        ("ADM1:!!!!", "malformed"),
        ("", "malformed"),
        ("ADM7:ABCDEF", "unsupported_version"),
        (unknown_key.as_str(), "unknown_key"),
        (impostor.as_str(), "bad_signature"),
    ] {
        denied(&app.scan_verdict(credential, gate, s1).await, reason);
    }

    admitted(&app.scan_verdict(&genuine, gate, s1).await, 1, 1);
}

#[tokio::test]
async fn genuinely_signed_credentials_that_do_not_match_the_ticket_are_denied_with_their_reasons() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let genuine = vip_ticket(&app).await;
    let payload = Credential::from_text(&genuine).unwrap().payload_unverified().unwrap();
    let issuer = Issuer::from_secret(app.concert.keys.key_id, &app.concert.keys.signing_secret);
    let sign = |p: Payload| issuer.issue(p).unwrap().to_text();
    let now_s = support::fixtures::now_ms() / 1000;

    for (credential, reason) in [
        (sign(Payload { ticket_id: 42, ..payload.clone() }), "unknown_ticket"),
        (sign(Payload { ticket_version: 2, ..payload.clone() }), "revoked_version"),
        (sign(Payload { session_id: app.concert.sessions[1].0 as u64, ..payload.clone() }), "wrong_session"),
        (sign(Payload { valid_from: now_s - 7200, valid_until: now_s - 60, ..payload.clone() }), "expired"),
        (sign(Payload { valid_from: now_s + 3600, valid_until: now_s + 7200, ..payload.clone() }), "not_yet_valid"),
        (sign(Payload { holder: HolderBinding::DeviceEd25519([7; 32]), ..payload.clone() }), "device_proof_missing"),
    ] {
        denied(&app.scan_verdict(&credential, gate, s1).await, reason);
    }

    admitted(&app.scan_verdict(&genuine, gate, s1).await, 1, 1);
}

#[tokio::test]
async fn a_credential_signed_with_another_events_key_is_denied_even_with_a_real_ticket_id() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let genuine = vip_ticket(&app).await;
    let payload = Credential::from_text(&genuine).unwrap().payload_unverified().unwrap();
    // The same organiser's other event, and another organiser's event: both keys are known to
    // the server, neither may vouch for a concert ticket.
    for event in [app.festival.event, app.rival_event.event] {
        let keys = app.store.event_keys(event).await.expect("event keys");
        let forger = Issuer::from_secret(keys.key_id, &keys.signing_secret);
        let forged = forger.issue(Payload { key_id: keys.key_id, ..payload.clone() }).unwrap().to_text();
        denied(&app.scan_verdict(&forged, gate, s1).await, "unknown_key");
    }
    admitted(&app.scan_verdict(&genuine, gate, s1).await, 1, 1);
}

#[tokio::test]
async fn a_ticket_for_one_session_is_denied_at_the_other() {
    let app = TestApp::spawn().await;
    let credential = vip_ticket(&app).await;
    let [s1, s2] = app.concert.sessions;

    let verdict = app.scan_verdict(&credential, app.hall_gates[0], s2).await;

    denied(&verdict, "wrong_session");
    assert_eq!(verdict["ticket"]["grade"], "VIP");
    admitted(&app.scan_verdict(&credential, app.hall_gates[0], s1).await, 1, 1);
}

#[tokio::test]
async fn a_two_entry_pass_admits_twice_then_is_used() {
    let app = TestApp::spawn().await;
    let f = &app.festival;
    let order = app.buy(f.session, f.pass, 1).await;
    let credential = order["tickets"][0]["credential"].as_str().unwrap();
    assert_eq!((&order["tickets"][0]["seat"], &order["tickets"][0]["max_entries"]), (&Value::Null, &2.into()));

    admitted(&app.scan_verdict(credential, app.park_gate, f.session).await, 1, 2);
    admitted(&app.scan_verdict(credential, app.park_gate, f.session).await, 2, 2);
    denied(&app.scan_verdict(credential, app.park_gate, f.session).await, "already_used");

    let rows = app.manifest(f.session, &app.organiser.gate_token).await;
    assert_eq!((&rows[0]["status"], &rows[0]["entries_used"]), (&"used".into(), &2.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gates_scanning_one_ticket_at_the_same_instant_admit_it_exactly_once() {
    let app = TestApp::spawn().await;
    let credential = vip_ticket(&app).await;
    let s1 = app.concert.sessions[0];

    let scans: Vec<_> = (0..16)
        .map(|i| {
            let body = json!({ "credential": credential, "gate_id": app.hall_gates[i % 2].0, "session_id": s1.0 });
            app.spawn_post("/gate/scans", body, Some(&app.organiser.gate_token))
        })
        .collect();
    let mut verdicts = Vec::new();
    for scan in scans {
        verdicts.push(json_body(scan.await.unwrap().unwrap(), StatusCode::OK).await);
    }

    let admits = verdicts.iter().filter(|v| v["verdict"] == "admit").count();
    assert_eq!(admits, 1, "{verdicts:?}");
    verdicts.iter().filter(|v| v["verdict"] != "admit").for_each(|v| denied(v, "already_used"));
    let rows = app.manifest(s1, &app.organiser.gate_token).await;
    assert_eq!(rows[0]["entries_used"], 1);
}

#[tokio::test]
async fn another_organisers_manifest_is_forbidden() {
    let app = TestApp::spawn().await;
    vip_ticket(&app).await;
    let path = format!("/sessions/{}/manifest", app.concert.sessions[0].0);

    problem(app.get_as(&path, &app.rival.admin_token).await, StatusCode::FORBIDDEN, "forbidden").await;
    problem(app.get_as(&format!("{path}?format=csv"), &app.rival.gate_token).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    problem(app.get(&path).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let rows = app.manifest(app.concert.sessions[0], &app.organiser.gate_token).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].get("price").is_none(), "gate staff see no revenue: {}", rows[0]);
    assert!(app.manifest(app.rival_event.session, &app.rival.gate_token).await.is_empty());
}

#[tokio::test]
async fn a_gate_retrying_a_scan_with_its_idempotency_key_gets_the_same_verdict_without_using_an_entry() {
    let app = TestApp::spawn().await;
    let f = &app.festival;
    let order = app.buy(f.session, f.pass, 1).await;
    let body = json!({ "credential": order["tickets"][0]["credential"], "gate_id": app.park_gate.0, "session_id": f.session.0 });
    let scan = |key: &'static str| {
        let request = app.client.post(app.url("/gate/scans")).bearer_auth(&app.organiser.gate_token);
        request.header("idempotency-key", key).json(&body).send()
    };

    let first = scan("scan-1").await.unwrap();
    let retry = scan("scan-1").await.unwrap();

    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let (first, retry) = (json_body(first, StatusCode::OK).await, json_body(retry, StatusCode::OK).await);
    assert_eq!(retry, first);
    admitted(&first, 1, 2);
    admitted(&json_body(scan("scan-2").await.unwrap(), StatusCode::OK).await, 2, 2);
}

/// An event created after the key ring was loaded (through another node, say), signed with a
/// key this node has never seen: unknown inside the reload interval (answered from memory, so
/// made-up key IDs cannot make every scan read the database), known once it has passed.
#[tokio::test]
async fn a_new_events_key_is_answered_from_memory_until_the_reload_interval_has_passed() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let genuine = vip_ticket(&app).await;
    let payload = Credential::from_text(&genuine).unwrap().payload_unverified().unwrap();
    let never_stored = Issuer::generate(u32::MAX - 11).issue(payload.clone()).unwrap().to_text();
    denied(&app.scan_verdict(&never_stored, gate, s1).await, "unknown_key");
    let late = Issuer::generate((1 << 30) + 17);
    let late_event = app.store.create_event(event_signed_by(&app, &late).await).await.unwrap();
    let late_session = app.store.event(late_event).await.unwrap().sessions[0].id;
    let signed_late = late
        .issue(Payload { ticket_id: 42, key_id: late.key_id(), session_id: late_session.0 as u64, ..payload })
        .unwrap()
        .to_text();

    let before = app.scan_verdict(&signed_late, gate, late_session).await;
    tokio::time::sleep(admit_server::state::RELOAD_INTERVAL + Duration::from_millis(100)).await;
    let after = app.scan_verdict(&signed_late, gate, late_session).await;

    denied(&before, "unknown_key");
    denied(&after, "unknown_ticket");
}

/// A one-grade general-admission event at the concert hall, signed by `issuer`.
async fn event_signed_by(app: &TestApp, issuer: &Issuer) -> NewEvent {
    let hall = app.store.gate(app.hall_gates[0]).await.unwrap().venue_id;
    let now = support::fixtures::now_ms();
    NewEvent {
        organiser_id: app.organiser.id,
        venue_id: hall,
        name: "Late addition".into(),
        kind: EventKind::Concert,
        description: String::new(),
        currency: Currency::KRW,
        route: None,
        grades: vec![NewGrade {
            code: "GA".into(),
            name: "GA".into(),
            seating: SeatingMode::GeneralAdmission,
            price_minor: 10_000,
            policy: EntryPolicy::SINGLE,
            quota: 10,
        }],
        sessions: vec![NewSession {
            label: "Late".into(),
            starts_at_ms: now,
            ends_at_ms: now + 3_600_000,
            doors_at_ms: now,
        }],
        seats: Vec::new(),
        keys: EventKeys {
            key_id: issuer.key_id(),
            signing_secret: issuer.secret_bytes(),
            public_key: issuer.public_key(),
            inspection_key: [7; 32],
        },
    }
}

/// The concert's signer, as the server holds it.
fn concert_issuer(app: &TestApp) -> Issuer {
    Issuer::from_secret(app.concert.keys.key_id, &app.concert.keys.signing_secret)
}

/// A VIP ticket bought for tonight, its credential re-issued bound to `device` (what binding
/// a phone does on the server) with the event's own key.
async fn vip_ticket_bound_to(app: &TestApp, device: &DeviceSigner) -> Credential {
    let sold = Credential::from_text(&vip_ticket(app).await).unwrap();
    let payload = sold.payload_unverified().unwrap();
    concert_issuer(app).issue(Payload { holder: device.binding(), ..payload }).unwrap()
}

/// The test's clock in unix seconds: a phone whose clock is right signs with this.
fn now_s() -> u32 {
    u32::try_from(support::fixtures::now_ms() / 1000).unwrap()
}

/// `PUT /events/{id}/credential-policy` as the organiser's administrator.
async fn set_credential_policy(app: &TestApp, policy: Value) {
    let path = app.url(&format!("/events/{}/credential-policy", app.concert.event.0));
    let resp = app.client.put(path).bearer_auth(&app.organiser.admin_token).json(&policy).send().await.unwrap();
    json_body(resp, StatusCode::OK).await;
}

#[tokio::test]
async fn a_device_bound_presentation_is_admitted_once() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let credential = vip_ticket_bound_to(&app, &phone).await;

    let first = phone.present(credential.clone(), now_s()).to_text();
    let verdict = app.scan_verdict(&first, gate, s1).await;
    let again = phone.present(credential, now_s() + 1).to_text();

    admitted(&verdict, 1, 1);
    assert_eq!(verdict["ticket"]["grade"], "VIP");
    denied(&app.scan_verdict(&again, gate, s1).await, "already_used");
}

#[tokio::test]
async fn a_p256_phone_presentation_is_admitted_like_an_ed25519_one() {
    let app = TestApp::spawn().await;
    let phone = DeviceSigner::generate(DeviceAlgorithm::P256);
    let credential = vip_ticket_bound_to(&app, &phone).await;

    let presentation = phone.present(credential, now_s()).to_text();

    admitted(&app.scan_verdict(&presentation, app.hall_gates[0], app.concert.sessions[0]).await, 1, 1);
}

#[tokio::test]
async fn a_replayed_presentation_older_than_the_window_is_denied_and_the_ticket_stays_unused() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let credential = vip_ticket_bound_to(&app, &phone).await;

    let screenshot = phone.present(credential.clone(), now_s() - 45).to_text();
    let verdict = app.scan_verdict(&screenshot, gate, s1).await;
    let from_the_future = phone.present(credential.clone(), now_s() + 45).to_text();

    denied(&verdict, "stale_proof");
    assert_eq!(verdict["ticket"]["grade"], "VIP", "the ticket is genuine, only its proof is old: {verdict}");
    denied(&app.scan_verdict(&from_the_future, gate, s1).await, "stale_proof");
    admitted(&app.scan_verdict(&phone.present(credential, now_s()).to_text(), gate, s1).await, 1, 1);
}

#[tokio::test]
async fn the_events_proof_window_decides_how_old_a_proof_may_be() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let credential = vip_ticket_bound_to(&app, &phone).await;
    let twenty_seconds_old = phone.present(credential, now_s() - 20).to_text();

    set_credential_policy(&app, json!({ "static_accepted": true, "rotation_seconds": 5, "proof_window_seconds": 10 }))
        .await;
    let strict = app.scan_verdict(&twenty_seconds_old, gate, s1).await;
    set_credential_policy(&app, json!({ "static_accepted": true, "rotation_seconds": 10, "proof_window_seconds": 60 }))
        .await;
    let relaxed = app.scan_verdict(&twenty_seconds_old, gate, s1).await;

    denied(&strict, "stale_proof");
    admitted(&relaxed, 1, 1);
}

#[tokio::test]
async fn a_presentation_signed_by_another_device_key_is_denied() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let credential = vip_ticket_bound_to(&app, &phone).await;
    let other_phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);

    let copied = other_phone.present(credential.clone(), now_s()).to_text();

    denied(&app.scan_verdict(&copied, gate, s1).await, "bad_device_signature");
    admitted(&app.scan_verdict(&phone.present(credential, now_s()).to_text(), gate, s1).await, 1, 1);
}

#[tokio::test]
async fn a_bound_credential_shown_statically_is_denied() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let phone = DeviceSigner::generate(DeviceAlgorithm::P256);
    let credential = vip_ticket_bound_to(&app, &phone).await;

    let verdict = app.scan_verdict(&credential.to_text(), gate, s1).await;

    denied(&verdict, "device_proof_missing");
    assert_eq!(verdict["ticket"]["grade"], "VIP");
    admitted(&app.scan_verdict(&phone.present(credential, now_s()).to_text(), gate, s1).await, 1, 1);
}

#[tokio::test]
async fn a_static_credential_is_refused_when_the_organiser_turned_static_off() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let printed = vip_ticket(&app).await;
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let bound = vip_ticket_bound_to(&app, &phone).await;

    set_credential_policy(
        &app,
        json!({ "static_accepted": false, "rotation_seconds": 10, "proof_window_seconds": 30 }),
    )
    .await;
    let refused = app.scan_verdict(&printed, gate, s1).await;
    let on_the_phone = app.scan_verdict(&phone.present(bound, now_s()).to_text(), gate, s1).await;
    set_credential_policy(&app, json!({ "static_accepted": true, "rotation_seconds": 10, "proof_window_seconds": 30 }))
        .await;
    let accepted_again = app.scan_verdict(&printed, gate, s1).await;

    denied(&refused, "static_not_accepted");
    admitted(&on_the_phone, 1, 1);
    admitted(&accepted_again, 1, 1);
}

#[tokio::test]
async fn unreadable_presentations_and_presentations_of_unbound_credentials_are_malformed() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let printed = Credential::from_text(&vip_ticket(&app).await).unwrap();
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);

    let dressed_up = phone.present(printed.clone(), now_s()).to_text();

    denied(&app.scan_verdict(&dressed_up, gate, s1).await, "malformed");
    denied(&app.scan_verdict("ADP1:!!!!", gate, s1).await, "malformed");
    denied(&app.scan_verdict("ADP9:ABCDEF", gate, s1).await, "unsupported_version");
    admitted(&app.scan_verdict(&printed.to_text(), gate, s1).await, 1, 1);
}

/// A two-entry festival pass bought for today, its credential re-issued bound to `device`.
async fn pass_bound_to(app: &TestApp, device: &DeviceSigner) -> Credential {
    let f = &app.festival;
    let order = app.buy(f.session, f.pass, 1).await;
    let sold = Credential::from_text(order["tickets"][0]["credential"].as_str().unwrap()).unwrap();
    let keys = app.store.event_keys(f.event).await.unwrap();
    let issuer = Issuer::from_secret(keys.key_id, &keys.signing_secret);
    issuer.issue(Payload { holder: device.binding(), ..sold.payload_unverified().unwrap() }).unwrap()
}

#[tokio::test]
async fn second_showing_of_the_same_phone_code_is_denied_replayed() {
    let app = TestApp::spawn().await;
    let (gate, s1) = (app.hall_gates[0], app.concert.sessions[0]);
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let code = phone.present(vip_ticket_bound_to(&app, &phone).await, now_s()).to_text();

    let first = app.scan_verdict(&code, gate, s1).await;
    let photo = app.scan_verdict(&code, app.hall_gates[1], s1).await;

    admitted(&first, 1, 1);
    denied(&photo, "replayed");
    assert!(photo["message"].as_str().unwrap().contains("already used"), "{photo}");
}

#[tokio::test]
async fn a_photographed_phone_code_admits_once_on_a_multi_entry_pass() {
    let app = TestApp::spawn().await;
    let f = &app.festival;
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let credential = pass_bound_to(&app, &phone).await;
    let code = phone.present(credential.clone(), now_s()).to_text();
    let earlier = phone.present(credential.clone(), now_s() - 5).to_text();

    let first = app.scan_verdict(&code, app.park_gate, f.session).await;
    let photo = app.scan_verdict(&code, app.park_gate, f.session).await;
    let older = app.scan_verdict(&earlier, app.park_gate, f.session).await;
    let refreshed = app.scan_verdict(&phone.present(credential, now_s() + 1).to_text(), app.park_gate, f.session).await;

    admitted(&first, 1, 2);
    denied(&photo, "replayed");
    denied(&older, "replayed");
    admitted(&refreshed, 2, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_shown_the_same_phone_code_at_the_same_instant_admit_it_once() {
    let app = TestApp::spawn().await;
    let f = &app.festival;
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let code = phone.present(pass_bound_to(&app, &phone).await, now_s()).to_text();

    let scans: Vec<_> = (0..16)
        .map(|_| {
            let body = json!({ "credential": code, "gate_id": app.park_gate.0, "session_id": f.session.0 });
            app.spawn_post("/gate/scans", body, Some(&app.organiser.gate_token))
        })
        .collect();
    let mut verdicts = Vec::new();
    for scan in scans {
        verdicts.push(json_body(scan.await.unwrap().unwrap(), StatusCode::OK).await);
    }

    let admits = verdicts.iter().filter(|v| v["verdict"] == "admit").count();
    assert_eq!(admits, 1, "a two-entry pass, but one phone code: {verdicts:?}");
    verdicts.iter().filter(|v| v["verdict"] != "admit").for_each(|v| denied(v, "replayed"));
    let rows = app.manifest(f.session, &app.organiser.gate_token).await;
    assert_eq!(rows[0]["entries_used"], 1);
}
