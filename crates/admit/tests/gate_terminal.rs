//! The gate terminal binary end to end: `admit demo` serves, `admit gate enrol` and `admit gate
//! sync` prepare a terminal, `admit gate run --plain` checks codes typed on its standard input.
//! Scans answered before a `kill -9` are in the local log after it — with time, gate and
//! position — and the restarted terminal still knows the ticket has entered. A terminal is
//! enrolled by the gate's name, and a line that is not UTF-8 is refused without stopping it.

#[allow(dead_code, reason = "each test binary uses its own part of the shared support")]
mod support;

use sqlx::{Connection, Row, SqliteConnection};
use support::demo::{CONCERT_TONIGHT, VIP};
use support::http::{approving_card, client, hold, post};
use support::process::{Mode, Server, admit_token};
use support::terminal::{GateRun, admit_gate, admit_gate_fails};

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

fn args(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn a_terminal_is_enrolled_by_gate_name_and_a_wrong_name_lists_the_gates() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start("a", Mode::Demo, &dir.path().join("server"), None, &[]);
    let staff = admit_token(&dir.path().join("server"), None, 1, "gate");
    let data = dir.path().join("terminal");
    let enrol = |gate: &str| {
        ["enrol", "--server", &server.base, "--token", &staff, "--gate", gate, "--data", data.to_str().unwrap()]
            .map(str::to_owned)
    };

    let unknown = admit_gate_fails(&args(&enrol("Gate Z")));
    let several = admit_gate_fails(&args(&enrol("gate")));
    let enrolled = admit_gate(&args(&enrol("north")));

    assert_eq!(unknown.trim().lines().count(), 1, "one line: {unknown}");
    assert!(unknown.contains("no gate is called \"Gate Z\"; the gates are: Gate A (north) (gate 1, "), "{unknown}");
    assert!(unknown.contains("Gate B (south) (gate 2, "), "{unknown}");
    assert!(several.contains("\"gate\" names 2 gates: Gate A (north) (gate 1, "), "{several}");
    assert!(enrolled.contains(" at Gate A (north) (gate 1), "), "{enrolled}");
    let other = dir.path().join("other");
    let without =
        admit_gate_fails(&["enrol", "--server", &server.base, "--token", &staff, "--data", other.to_str().unwrap()]);
    assert!(without.contains("choose the gate with --gate NAME or --gate ID: Gate A (north) (gate 1, "), "{without}");
}

#[tokio::test]
async fn a_line_that_is_not_utf8_is_refused_malformed_and_the_terminal_reads_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start("a", Mode::Demo, &dir.path().join("server"), None, &[]);
    let staff = admit_token(&dir.path().join("server"), None, 1, "gate");
    let http = client();
    let held = hold(&http, &server.base, CONCERT_TONIGHT, VIP, 1).await;
    let (status, order) =
        post(&http, &format!("{}/holds/{}/payments", server.base, held.id), &approving_card()).await.unwrap();
    assert_eq!(status, 201, "{order}");
    let code = order["tickets"][0]["credential"].as_str().unwrap().to_owned();
    let data = dir.path().join("terminal");
    let data_arg = data.to_str().unwrap();
    admit_gate(&["enrol", "--server", &server.base, "--token", &staff, "--gate", "1", "--data", data_arg]);
    admit_gate(&["sync", "--data", data_arg]);
    drop(server);

    let mut terminal = GateRun::start(&data, &[]);
    let misread = terminal.scan_bytes(b"ADM1:\xff\xfe\x80garbled");
    let crlf = terminal.scan_bytes(format!("{code}\r").as_bytes());
    let again = terminal.scan(&code);

    assert!(misread.starts_with("DENY seq=1 reason=malformed "), "{misread}");
    assert!(crlf.starts_with("ADMIT seq=2 "), "a code ending in CR+LF is read whole: {crlf}");
    assert!(again.starts_with("DENY seq=3 reason=already_used "), "{again}");
}

#[tokio::test]
async fn admit_gate_sync_pulls_changes_even_when_the_upload_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start("a", Mode::Demo, &dir.path().join("server"), None, &[]);
    let staff = admit_token(&dir.path().join("server"), None, 1, "gate");
    let data = dir.path().join("terminal");
    let data_arg = data.to_str().unwrap();
    admit_gate(&["enrol", "--server", &server.base, "--token", &staff, "--gate", "1", "--data", data_arg]);
    admit_gate(&["sync", "--data", data_arg]);
    // A logged scan the server refuses whole (422: there is no such session).
    let mut db = SqliteConnection::connect(&format!("sqlite://{}", data.join("gate.db").display())).await.unwrap();
    sqlx::query(
        "INSERT INTO scans (scanned_at, gate_id, session_id, verdict, reason, source, uploaded, direction)
         VALUES (1800000000000, ?, 999999, 'deny', 'malformed', 'offline', 0, 'entry')",
    )
    .bind(GATE)
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    let output = admit_gate_fails(&["sync", "--data", data_arg]);

    assert!(output.contains("Incremental sync: "), "the sync ran: {output}");
    assert!(output.contains("1 scan(s) stay in the local log; syncing anyway"), "{output}");
    assert!(output.contains("synced, but 1 scan(s) could not be uploaded"), "{output}");
}
