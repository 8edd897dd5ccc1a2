//! The gate terminal binary end to end: `admit demo` serves, `admit gate enrol` and `admit gate
//! sync` prepare a terminal, `admit gate run --plain` checks codes typed on its standard input.
//! Scans answered before a `kill -9` are in the local log after it — with time, gate and
//! position — and the restarted terminal still knows the ticket has entered.

#[allow(dead_code, reason = "each test binary uses its own part of the shared support")]
mod support;

use sqlx::{Connection, Row, SqliteConnection};
use support::demo::{CONCERT_TONIGHT, VIP};
use support::http::{approving_card, client, hold, post};
use support::process::{Mode, Server, admit_token};
use support::terminal::{GateRun, admit_gate};

/// Gate A of the demo's concert hall.
const GATE: i64 = 1;

/// A logged scan: seq, verdict, reason, gate, latitude, longitude, uploaded.
type LoggedScan = (i64, String, Option<String>, i64, f64, f64, i64);

#[tokio::test]
async fn scans_recorded_before_a_kill_9_are_still_there_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start("a", Mode::Demo, &dir.path().join("server"), None, &[]);
    let staff = admit_token(&dir.path().join("server"), None, 1, "gate");
    let http = client();
    let held = hold(&http, &server.base, CONCERT_TONIGHT, VIP, 2).await;
    let (status, order) =
        post(&http, &format!("{}/holds/{}/payments", server.base, held.id), &approving_card()).await.unwrap();
    assert_eq!(status, 201, "{order}");
    let codes: Vec<String> =
        order["tickets"].as_array().unwrap().iter().map(|t| t["credential"].as_str().unwrap().to_owned()).collect();
    let data = dir.path().join("terminal");
    let data_arg = data.to_str().unwrap();
    admit_gate(&[
        "enrol",
        "--server",
        &server.base,
        "--token",
        &staff,
        "--gate",
        &GATE.to_string(),
        "--data",
        data_arg,
    ]);
    let summary = admit_gate(&["sync", "--data", data_arg]);
    assert!(summary.starts_with("Full sync: ") && summary.contains(" 1 key(s), "), "{summary}");
    // The terminal works alone from here: no upload can hide a lost scan.
    drop(server);

    let mut terminal = GateRun::start(&data, &["--lat", "37.5207", "--lon", "127.1213"]);
    let first = terminal.scan(&codes[0]);
    let again = terminal.scan(&codes[0]);
    let garbage = terminal.scan("NOT-A-TICKET");
    terminal.kill_9();

    assert!(first.starts_with("ADMIT seq=1 "), "{first}");
    assert!(again.starts_with("DENY seq=2 reason=already_used "), "{again}");
    assert!(garbage.starts_with("DENY seq=3 reason=malformed "), "{garbage}");
    let mut db = SqliteConnection::connect(&format!("sqlite://{}", data.join("gate.db").display())).await.unwrap();
    let rows = sqlx::query(
        "SELECT seq, verdict, reason, gate_id, scanned_at, latitude, longitude, uploaded FROM scans ORDER BY seq",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let logged: Vec<LoggedScan> = rows
        .iter()
        .map(|r| {
            (
                r.get("seq"),
                r.get("verdict"),
                r.get("reason"),
                r.get("gate_id"),
                r.get("latitude"),
                r.get("longitude"),
                r.get("uploaded"),
            )
        })
        .collect();
    assert_eq!(
        logged,
        vec![
            (1, "admit".into(), None, GATE, 37.5207, 127.1213, 0),
            (2, "deny".into(), Some("already_used".into()), GATE, 37.5207, 127.1213, 0),
            (3, "deny".into(), Some("malformed".into()), GATE, 37.5207, 127.1213, 0),
        ]
    );
    assert!(rows.iter().all(|r| r.get::<i64, _>("scanned_at") > 1_700_000_000_000), "each scan has its time");
    db.close().await.unwrap();

    let mut restarted = GateRun::start(&data, &[]);
    let after = restarted.scan(&codes[0]);
    let other = restarted.scan(&codes[1]);

    assert!(after.starts_with("DENY seq=4 reason=already_used "), "the log survived the crash: {after}");
    assert!(other.starts_with("ADMIT seq=5 "), "{other}");
}
