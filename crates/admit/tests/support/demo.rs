//! What `admit demo` seeds, as the tests need it: the concert's tonight session and grades, the
//! festival's session, an event of a given kind, the organiser and the venue's gates. Read
//! over HTTP or from the data, so it holds on either backend.

use super::deployment::Deployment;
use super::http::get_ok;
use serde_json::Value;

/// The concert's first session (tonight) and its reserved grades.
pub const CONCERT_TONIGHT: i64 = 1;
pub const VIP: i64 = 1;
pub const R: i64 = 2;

/// The festival's first grade: early-bird standing, 200 units.
pub const EARLY: i64 = 4;

/// The festival's session (general admission, grades 4–6).
pub async fn festival_session(deployment: &Deployment) -> i64 {
    deployment.admit_db().await.scalar("SELECT session_id FROM inventory WHERE grade_id = 4", &[]).await
}

/// `GET /events/{id}` of the first event of `kind` (`concert`, `train`, …).
pub async fn event_of_kind(client: &reqwest::Client, base: &str, kind: &str) -> Value {
    let events = get_ok(client, &format!("{base}/events")).await;
    let id = events
        .as_array()
        .and_then(|all| all.iter().find(|e| e["kind"] == kind))
        .and_then(|e| e["id"].as_i64())
        .unwrap_or_else(|| panic!("the demo has no {kind} event: {events}"));
    get_ok(client, &format!("{base}/events/{id}")).await
}

/// The organiser who runs `event`.
pub async fn organiser_of(deployment: &Deployment, event: i64) -> i64 {
    deployment.admit_db().await.scalar("SELECT organiser_id FROM events WHERE id = ?", &[event.into()]).await
}

/// The gates of `event`'s venue.
pub async fn gates_of(deployment: &Deployment, event: i64) -> Vec<i64> {
    let sql = "SELECT g.id FROM gates g JOIN events e ON e.venue_id = g.venue_id WHERE e.id = ? ORDER BY g.id";
    deployment.admit_db().await.column(sql, &[event.into()]).await
}

/// (total, held, sold, remaining) of one grade in one session, as `base` reports it.
pub async fn availability(client: &reqwest::Client, base: &str, session: i64, grade: i64) -> (i64, i64, i64, i64) {
    let body = get_ok(client, &format!("{base}/sessions/{session}")).await;
    let row = body["availability"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["grade_id"] == grade))
        .unwrap_or_else(|| panic!("session {session} has no grade {grade}: {body}"));
    let count = |key: &str| row[key].as_i64().unwrap_or_else(|| panic!("availability without {key}: {row}"));
    (count("total"), count("held"), count("sold"), count("remaining"))
}
