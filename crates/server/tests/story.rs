//! The whole story through the HTTP API: a buyer browses, holds two VIP seats side by side,
//! has one card declined, pays with another, gets signed tickets as text and QR; the venue
//! reads its manifest; the gate admits the ticket once; the credential verifies offline with
//! nothing but the event's public key.

mod support;

use admit_credential::{KeyRing, inspection_password, ticket_reference};
use reqwest::{StatusCode, header};
use serde_json::Value;
use support::fixtures::VIP_PRICE;
use support::{TestApp, cards, created_hold, json_body, problem, without_login_url};

#[tokio::test]
async fn a_buyer_browses_pays_gets_tickets_and_is_admitted_exactly_once() {
    let app = TestApp::spawn().await;
    let (concert, s1) = (&app.concert, app.concert.sessions[0]);

    // Browse: the event list, then the concert with grades, prices and live availability.
    let events = json_body(app.get("/events").await, StatusCode::OK).await;
    let listed = events.as_array().expect("event list");
    assert_eq!(listed.len(), 3, "{events}");
    let summary = listed.iter().find(|e| e["id"] == concert.event.0).expect("the concert is listed");
    assert_eq!(
        (&summary["name"], &summary["kind"], &summary["currency"]),
        (&"Aurora Live".into(), &"concert".into(), &"KRW".into())
    );
    assert_eq!(summary["venue"], "Olympic Hall");

    let detail = json_body(app.get(&format!("/events/{}", concert.event.0)).await, StatusCode::OK).await;
    let grades: Vec<(&str, i64, &str)> = detail["grades"]
        .as_array()
        .expect("grades")
        .iter()
        .map(|g| {
            (g["code"].as_str().unwrap(), g["price"]["amount_minor"].as_i64().unwrap(), g["seating"].as_str().unwrap())
        })
        .collect();
    assert_eq!(grades, [("VIP", 165_000, "reserved"), ("R", 132_000, "reserved"), ("S", 99_000, "reserved")]);
    assert_eq!(detail["grades"][0]["price"]["currency"], "KRW");
    let sessions = detail["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2);
    let vip_now = sessions[0]["availability"].as_array().unwrap().iter().find(|a| a["grade_code"] == "VIP").unwrap();
    assert_eq!(
        (&vip_now["total"], &vip_now["held"], &vip_now["sold"], &vip_now["remaining"]),
        (&12.into(), &0.into(), &0.into(), &12.into())
    );

    // Hold two best-available VIP seats: adjacent, same row.
    let hold = created_hold(app.hold_best(s1, concert.vip, 2).await).await;
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    assert_eq!(hold["total"]["amount_minor"], 2 * VIP_PRICE);
    let held_ids: Vec<i64> = hold["lines"].as_array().unwrap().iter().map(|l| l["seat_id"].as_i64().unwrap()).collect();
    let seat_map = app.seats(s1).await;
    let held: Vec<&Value> = held_ids.iter().map(|id| seat_map.iter().find(|s| s["id"] == *id).unwrap()).collect();
    assert_eq!(held[0]["row"], held[1]["row"], "same row: {held:?}");
    let numbers = [held[0]["number"].as_i64().unwrap(), held[1]["number"].as_i64().unwrap()];
    assert_eq!((numbers[0] - numbers[1]).abs(), 1, "adjacent: {held:?}");
    assert!(held.iter().all(|s| s["state"] == "held"));
    assert_eq!(app.counts(s1, concert.vip).await, (2, 0, 10));

    // A declined card keeps the hold.
    let declined =
        problem(app.pay(&hold_id, cards::INSUFFICIENT_FUNDS).await, StatusCode::PAYMENT_REQUIRED, "payment-declined")
            .await;
    assert_eq!(declined["decline_code"], "insufficient_funds");
    assert_eq!(declined["hold_id"], hold_id.as_str());
    let still = json_body(app.get(&format!("/holds/{hold_id}")).await, StatusCode::OK).await;
    assert_eq!(still["state"], "active");

    // The approving card completes the reservation.
    let paid = app.pay(&hold_id, cards::APPROVED).await;
    let location = paid.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
    let order = json_body(paid, StatusCode::CREATED).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(location, Some(format!("/orders/{order_id}")));
    assert_eq!(
        (&order["message"], &order["state"], &order["hold_id"]),
        (&"Reservation complete.".into(), &"paid".into(), &hold_id.as_str().into())
    );
    assert_eq!(order["total"]["amount_minor"], 2 * VIP_PRICE);
    let tickets = order["tickets"].as_array().expect("tickets").clone();
    assert_eq!(tickets.len(), 2, "{order}");
    for t in &tickets {
        let id: u64 = t["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(t["reference"], ticket_reference(id));
        assert!(t["credential"].as_str().unwrap().starts_with("ADM1:"), "{t}");
        assert_eq!((&t["version"], &t["status"], &t["grade"]), (&1.into(), &"valid".into(), &"VIP".into()));
    }
    let mut ticket_seats: Vec<&str> = tickets.iter().map(|t| t["seat"].as_str().unwrap()).collect();
    let mut held_labels: Vec<&str> = held.iter().map(|s| s["label"].as_str().unwrap()).collect();
    ticket_seats.sort();
    held_labels.sort();
    assert_eq!(ticket_seats, held_labels);
    assert_eq!(app.counts(s1, concert.vip).await, (0, 2, 10));
    let read_back = json_body(app.get(&format!("/orders/{order_id}")).await, StatusCode::OK).await;
    assert!(read_back.get("login_url").is_none(), "reading the order writes no login link");
    assert_eq!(read_back, without_login_url(&order), "reading the order shows the confirmation");

    fetch_ticket_media(&app, &order_id, &tickets[0]).await;
    manifest_lists_both_tickets(&app, &tickets).await;

    // The gate admits the first ticket once.
    let credential = tickets[0]["credential"].as_str().unwrap();
    let admit = app.scan_verdict(credential, app.hall_gates[0], s1).await;
    assert_eq!(
        (&admit["verdict"], &admit["admits"], &admit["reason"]),
        (&"admit".into(), &1.into(), &Value::Null),
        "{admit}"
    );
    assert_eq!(admit["ticket"]["seat"], tickets[0]["seat"]);
    assert_eq!((&admit["ticket"]["grade"], &admit["ticket"]["reference"]), (&"VIP".into(), &tickets[0]["reference"]));
    assert_eq!((&admit["entries_used"], &admit["max_entries"]), (&1.into(), &1.into()));
    let again = app.scan_verdict(credential, app.hall_gates[1], s1).await;
    assert_eq!(
        (&again["verdict"], &again["reason"], &again["admits"]),
        (&"deny".into(), &"already_used".into(), &0.into()),
        "{again}"
    );
    let rows = app.manifest(s1, &app.organiser.gate_token).await;
    let status = |t: &Value| rows.iter().find(|r| r["reference"] == t["reference"]).unwrap()["status"].clone();
    assert_eq!((status(&tickets[0]), status(&tickets[1])), ("used".into(), "valid".into()));

    // Offline: the event's public key alone verifies the credential and its contents.
    let keys = app.store.event_keys(concert.event).await.unwrap();
    let mut ring = KeyRing::new();
    ring.insert(keys.key_id, &keys.public_key).unwrap();
    let payload = ring.verify_text(credential).expect("a genuine credential");
    assert_eq!(payload.seat, tickets[0]["seat"].as_str().unwrap());
    assert_eq!((payload.grade.as_str(), payload.ticket_version, payload.session_id), ("VIP", 1, s1.0 as u64));
    assert_eq!(payload.ticket_id.to_string(), tickets[0]["id"].as_str().unwrap());

    app.stop().await;
}

/// The credential as text, and the QR as SVG and PNG, each served twice identically.
async fn fetch_ticket_media(app: &TestApp, order_id: &str, ticket: &Value) {
    let links = &ticket["links"];
    let text = app.get(links["credential"].as_str().unwrap()).await;
    assert_eq!(text.status(), StatusCode::OK);
    assert_eq!(text.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(text.text().await.unwrap(), ticket["credential"].as_str().unwrap());

    for (link, content_type) in [("qr_svg", "image/svg+xml"), ("qr_png", "image/png")] {
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let resp = app.get(links[link].as_str().unwrap()).await;
            assert_eq!(resp.status(), StatusCode::OK, "{link}");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], content_type);
            bodies.push(resp.bytes().await.unwrap());
        }
        assert_eq!(bodies[0], bodies[1], "{link} is served identically twice");
        match link {
            "qr_svg" => assert!(String::from_utf8_lossy(&bodies[0]).contains("<svg")),
            _ => assert!(bodies[0].starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature"),
        }
    }

    // A ticket is only reachable through its own order.
    let elsewhere = format!("/orders/not-{order_id}/tickets/{}/credential", ticket["id"].as_str().unwrap());
    problem(app.get(&elsewhere).await, StatusCode::NOT_FOUND, "not-found").await;
}

/// Manifest JSON (gate staff) and CSV (admin) list both tickets with inspection data.
async fn manifest_lists_both_tickets(app: &TestApp, tickets: &[Value]) {
    let s1 = app.concert.sessions[0];
    let rows = app.manifest(s1, &app.organiser.gate_token).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for t in tickets {
        let row = rows.iter().find(|r| r["reference"] == t["reference"]).expect("ticket in the manifest");
        let id: u64 = t["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(row["inspection_id"], t["reference"]);
        assert_eq!(row["inspection_password"], inspection_password(&app.concert.keys.inspection_key, id, 1));
        assert_eq!((&row["status"], &row["seat"], &row["grade"]), (&"valid".into(), &t["seat"], &"VIP".into()));
    }

    let csv = app.get_as(&format!("/sessions/{}/manifest?format=csv", s1.0), &app.organiser.admin_token).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "reference,inspection_id,inspection_password,seat,grade,status,version,entries_used,max_entries"
    );
    assert_eq!(lines.len(), 3, "{body}");
    for t in tickets {
        let line = lines.iter().find(|l| l.starts_with(t["reference"].as_str().unwrap())).expect("ticket in the CSV");
        let row = rows.iter().find(|r| r["reference"] == t["reference"]).unwrap();
        let expected = format!(
            "{r},{r},{p},{seat},VIP,valid,1,0,1",
            r = row["reference"].as_str().unwrap(),
            p = row["inspection_password"].as_str().unwrap(),
            seat = row["seat"].as_str().unwrap()
        );
        assert_eq!(*line, expected);
    }
}
