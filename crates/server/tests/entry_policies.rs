//! Entry policies at the online gate (`POST /gate/scans`): re-entry with pass-out (an exit
//! scan lets the same ticket in again; one person inside at a time, even when gates race) and
//! multi-day passes (admitted once on each day of the event).

mod support;

use admit_domain::{Currency, EntryPolicy, EventKind, GradeId, SeatingMode, SessionId};
use admit_store::{EventKeys, NewEvent, NewGrade, NewSession};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, json_body, problem};

/// A two-day general-admission event at the concert hall with a pass-out grade (OUT, five
/// entries) and a multi-day pass (DAYS, one entry per day).
struct TwoDays {
    event: i64,
    days: [SessionId; 2],
    out: GradeId,
    pass: GradeId,
}

async fn two_day_event(app: &TestApp) -> TwoDays {
    let hall = app.store.gate(app.hall_gates[0]).await.unwrap().venue_id;
    let now = support::fixtures::now_ms();
    let hour = 3_600_000;
    let grade = |code: &str, policy| NewGrade {
        code: code.into(),
        name: code.into(),
        seating: SeatingMode::GeneralAdmission,
        price_minor: 10_000,
        policy,
        quota: 20,
    };
    let day = |label: &str, starts_at_ms: i64| NewSession {
        label: label.into(),
        starts_at_ms,
        ends_at_ms: starts_at_ms + 3 * hour,
        doors_at_ms: now - hour,
    };
    let issuer = admit_credential::Issuer::generate(rand::random::<u32>() >> 1);
    let event = app
        .store
        .create_event(NewEvent {
            organiser_id: app.organiser.id,
            venue_id: hall,
            name: "Two Day Weekender".into(),
            kind: EventKind::Concert,
            description: String::new(),
            currency: Currency::KRW,
            route: None,
            grades: vec![
                grade("OUT", EntryPolicy { max_entries: 5, reentry: true, multi_day: false }),
                grade("DAYS", EntryPolicy { max_entries: 1, reentry: false, multi_day: true }),
            ],
            sessions: vec![day("Saturday", now + hour), day("Sunday", now + 25 * hour)],
            seats: Vec::new(),
            keys: EventKeys {
                key_id: issuer.key_id(),
                signing_secret: issuer.secret_bytes(),
                public_key: issuer.public_key(),
                inspection_key: [9; 32],
            },
        })
        .await
        .unwrap();
    let detail = app.store.event(event).await.unwrap();
    let grade_id = |code: &str| detail.grades.iter().find(|g| g.code == code).unwrap().id;
    TwoDays {
        event: event.0,
        days: [detail.sessions[0].id, detail.sessions[1].id],
        out: grade_id("OUT"),
        pass: grade_id("DAYS"),
    }
}

async fn ticket(app: &TestApp, session: SessionId, grade: GradeId) -> String {
    let order = app.buy(session, grade, 1).await;
    order["tickets"][0]["credential"].as_str().unwrap().to_owned()
}

/// Scans at the hall's gate `gate` for `session` in `direction` (none: the field is left out).
async fn scan(app: &TestApp, credential: &str, gate: usize, session: SessionId, direction: Option<&str>) -> Value {
    let mut body = json!({ "credential": credential, "gate_id": app.hall_gates[gate].0, "session_id": session.0 });
    if let Some(d) = direction {
        body["direction"] = d.into();
    }
    let resp = app
        .client
        .post(app.url("/gate/scans"))
        .bearer_auth(&app.organiser.gate_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    json_body(resp, StatusCode::OK).await
}

fn verdict(v: &Value) -> (&str, Option<&str>, u64) {
    (v["verdict"].as_str().unwrap(), v["reason"].as_str(), v["admits"].as_u64().unwrap())
}

#[tokio::test]
async fn a_pass_out_ticket_is_refused_while_inside_and_admitted_again_after_an_exit_scan() {
    let app = TestApp::spawn().await;
    let w = two_day_event(&app).await;
    let code = ticket(&app, w.days[0], w.out).await;

    let entered = scan(&app, &code, 0, w.days[0], None).await;
    let again = scan(&app, &code, 1, w.days[0], Some("entry")).await;
    let left = scan(&app, &code, 1, w.days[0], Some("exit")).await;
    let left_again = scan(&app, &code, 1, w.days[0], Some("exit")).await;
    let back = scan(&app, &code, 0, w.days[0], Some("entry")).await;

    assert_eq!(verdict(&entered), ("admit", None, 1), "{entered}");
    assert_eq!(
        (&entered["entry_policy"], &entered["inside"], &entered["direction"]),
        (&json!("reentry"), &json!(true), &json!("entry"))
    );
    assert_eq!(verdict(&again), ("deny", Some("already_inside"), 0), "{again}");
    assert_eq!(verdict(&left), ("admit", None, 0), "an exit lets nobody in: {left}");
    assert_eq!(
        (&left["direction"], &left["inside"], &left["entries_used"]),
        (&json!("exit"), &json!(false), &json!(1))
    );
    assert_eq!(verdict(&left_again), ("deny", Some("not_inside"), 0), "{left_again}");
    assert_eq!(verdict(&back), ("admit", None, 1), "{back}");
    assert_eq!((&back["entries_used"], &back["max_entries"]), (&json!(2), &json!(5)));
}

#[tokio::test]
async fn an_exit_scan_of_a_single_entry_ticket_is_denied_no_reentry() {
    let app = TestApp::spawn().await;
    let code = app.buy(app.concert.sessions[0], app.concert.vip, 1).await["tickets"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned();

    let exit = scan(&app, &code, 0, app.concert.sessions[0], Some("exit")).await;
    let entry = scan(&app, &code, 0, app.concert.sessions[0], None).await;

    assert_eq!(verdict(&exit), ("deny", Some("no_reentry"), 0), "{exit}");
    assert_eq!(verdict(&entry), ("admit", None, 1), "the refused exit took nothing: {entry}");
}

#[tokio::test]
async fn a_scan_with_an_unknown_direction_is_a_validation_problem() {
    let app = TestApp::spawn().await;
    let w = two_day_event(&app).await;
    let code = ticket(&app, w.days[0], w.out).await;
    let body = json!({
        "credential": code, "gate_id": app.hall_gates[0].0, "session_id": w.days[0].0, "direction": "sideways"
    });

    let resp = app.client.post(app.url("/gate/scans")).bearer_auth(&app.organiser.gate_token).json(&body).send();
    problem(resp.await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    assert_eq!(verdict(&scan(&app, &code, 0, w.days[0], None).await), ("admit", None, 1), "nothing was taken");
}

#[tokio::test]
async fn a_multi_day_pass_is_admitted_once_on_each_day_of_its_event() {
    let app = TestApp::spawn().await;
    let w = two_day_event(&app).await;
    let code = ticket(&app, w.days[0], w.pass).await;

    let saturday = scan(&app, &code, 0, w.days[0], None).await;
    let saturday_again = scan(&app, &code, 1, w.days[0], None).await;
    let sunday = scan(&app, &code, 0, w.days[1], None).await;
    let sunday_again = scan(&app, &code, 1, w.days[1], None).await;

    assert_eq!(verdict(&saturday), ("admit", None, 1), "{saturday}");
    assert_eq!(saturday["entry_policy"], "multi_day");
    assert_eq!(verdict(&saturday_again), ("deny", Some("already_used"), 0));
    assert_eq!(verdict(&sunday), ("admit", None, 1), "not wrong_session on another day: {sunday}");
    assert_eq!(verdict(&sunday_again), ("deny", Some("already_used"), 0));

    let event = json_body(app.get(&format!("/events/{}", w.event)).await, StatusCode::OK).await;
    let policies: Vec<(&str, &str)> = event["grades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["code"].as_str().unwrap(), g["entry_policy"].as_str().unwrap()))
        .collect();
    assert!(policies.contains(&("DAYS", "multi_day")) && policies.contains(&("OUT", "reentry")), "{policies:?}");
}

#[tokio::test]
async fn a_multi_day_pass_is_denied_at_another_events_session() {
    let app = TestApp::spawn().await;
    let w = two_day_event(&app).await;
    let code = ticket(&app, w.days[0], w.pass).await;

    let at_the_concert = scan(&app, &code, 0, app.concert.sessions[1], None).await;

    assert_eq!(verdict(&at_the_concert), ("deny", Some("wrong_event"), 0), "{at_the_concert}");
}

#[tokio::test]
async fn gates_racing_one_pass_out_ticket_let_one_person_in_and_one_out() {
    let app = TestApp::spawn().await;
    let w = two_day_event(&app).await;
    let code = ticket(&app, w.days[0], w.out).await;
    let token = app.organiser.gate_token.clone();

    for (direction, reason) in [("entry", "already_inside"), ("exit", "not_inside")] {
        let body = json!({
            "credential": code, "gate_id": app.hall_gates[0].0, "session_id": w.days[0].0, "direction": direction
        });
        let racing: Vec<_> = (0..12).map(|_| app.spawn_post("/gate/scans", body.clone(), Some(&token))).collect();
        let mut verdicts = Vec::new();
        for r in racing {
            verdicts.push(json_body(r.await.unwrap().unwrap(), StatusCode::OK).await);
        }
        let admitted = verdicts.iter().filter(|v| v["verdict"] == "admit").count();
        assert_eq!(admitted, 1, "{direction}: {verdicts:?}");
        assert!(verdicts.iter().filter(|v| v["verdict"] == "deny").all(|v| v["reason"] == reason), "{verdicts:?}");
    }
}

#[tokio::test]
async fn a_pass_out_ticket_cannot_leave_or_come_back_on_a_phone_code_it_already_used() {
    use admit_credential::{Credential, DeviceAlgorithm, DeviceSigner, Issuer, Payload};
    let app = TestApp::spawn().await;
    let w = two_day_event(&app).await;
    let sold = Credential::from_text(&ticket(&app, w.days[0], w.out).await).unwrap();
    let keys = app.store.event_keys(admit_domain::EventId(w.event)).await.unwrap();
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let bound = Issuer::from_secret(keys.key_id, &keys.signing_secret)
        .issue(Payload { holder: phone.binding(), ..sold.payload_unverified().unwrap() })
        .unwrap();
    let now_s = u32::try_from(support::fixtures::now_ms() / 1000).unwrap();
    let code_at = |t: u32| phone.present(bound.clone(), t).to_text();

    let entered = scan(&app, &code_at(now_s - 3), 0, w.days[0], None).await;
    let out_on_it = scan(&app, &code_at(now_s - 3), 1, w.days[0], Some("exit")).await;
    let left = scan(&app, &code_at(now_s - 2), 1, w.days[0], Some("exit")).await;
    let back_on_it = scan(&app, &code_at(now_s - 2), 0, w.days[0], None).await;
    let back = scan(&app, &code_at(now_s - 1), 0, w.days[0], None).await;

    assert_eq!(verdict(&entered), ("admit", None, 1), "{entered}");
    assert_eq!(verdict(&out_on_it), ("deny", Some("replayed"), 0), "{out_on_it}");
    assert_eq!(verdict(&left), ("admit", None, 0), "{left}");
    assert_eq!(verdict(&back_on_it), ("deny", Some("replayed"), 0), "{back_on_it}");
    assert_eq!(verdict(&back), ("admit", None, 1), "{back}");
    assert_eq!(back["entries_used"], 2);
}
