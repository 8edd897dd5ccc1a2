//! Uploading what a terminal took offline, against the real server: a backlog of any size
//! drains in batches the server accepts (its body limit is 64 KiB), each scan is counted
//! exactly once, and a refused upload never keeps the terminal from pulling changes.

mod support;

use admit_credential::HolderBinding;
use admit_domain::{DenyReason, Direction};
use admit_gate::{GateError, NewScan, TerminalConfig};
use sqlx::{Connection, Row};
use support::{Bought, Venue};

const SCANS: usize = 20_000;

/// 40 single-entry tickets of the venue's session, bought through the API.
async fn forty_tickets(venue: &Venue) -> Vec<Bought> {
    let mut tickets = Vec::new();
    for _ in 0..4 {
        tickets.extend(venue.buy(venue.ga, 10).await);
    }
    tickets
}

#[tokio::test]
async fn twenty_thousand_offline_scans_upload_in_accepted_batches_and_count_once() {
    let venue = Venue::start().await;
    let tickets = forty_tickets(&venue).await;
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    let gate = terminal.enrolment().gate_id;
    let start = admit_gate::now_ms() - SCANS as i64;
    // The first scan of each ticket admitted it; every later one was refused as already used,
    // just as the terminal decides them (one scan every millisecond, round the tickets).
    let scans: Vec<NewScan> = (0..SCANS)
        .map(|i| {
            let ticket = &tickets[i % tickets.len()];
            NewScan {
                scanned_at_ms: start + i as i64,
                gate_id: gate,
                session_id: Some(venue.session.0),
                ticket_id: Some(ticket.id),
                ticket_version: Some(1),
                reason: (i >= tickets.len()).then_some(DenyReason::AlreadyUsed),
                latitude: Some(37.5207),
                longitude: Some(127.1213),
                online: false,
                server_entries_used: None,
                direction: Direction::Entry,
                device_counter: None,
            }
        })
        .collect();
    terminal.db().record_scans(&scans).await.unwrap();
    assert_eq!(terminal.db().pending_count().await.unwrap(), SCANS as i64);

    let (uploaded, _) = terminal.refresh().await.expect("the whole backlog uploads");
    let (again, _) = terminal.refresh().await.unwrap();

    assert_eq!((uploaded.uploaded, uploaded.conflicts), (SCANS as u64, 0));
    assert!(uploaded.batches >= (SCANS as u64 * 200) / (64 * 1024), "many requests: {uploaded:?}");
    assert_eq!(again.uploaded, 0, "nothing is sent twice");
    assert_eq!(terminal.db().pending_count().await.unwrap(), 0);
    let mut server = sqlx::SqliteConnection::connect(&format!("sqlite://{}", venue.db_path.display())).await.unwrap();
    let row = sqlx::query(
        "SELECT COUNT(*) AS scans, COUNT(DISTINCT seq) AS seqs, SUM(outcome = 'counted') AS counted,
                SUM(outcome = 'recorded') AS recorded, SUM(outcome = 'conflict') AS conflicts
         FROM device_scans WHERE device_id = ?",
    )
    .bind(terminal.enrolment().device_id)
    .fetch_one(&mut server)
    .await
    .unwrap();
    let counts: [i64; 5] = ["scans", "seqs", "counted", "recorded", "conflicts"].map(|c| row.get(c));
    assert_eq!(counts, [SCANS as i64, SCANS as i64, tickets.len() as i64, (SCANS - tickets.len()) as i64, 0]);
    for ticket in &tickets {
        let stored = venue.store.ticket(admit_domain::TicketId(ticket.id)).await.unwrap();
        assert_eq!(stored.entries_used, 1, "ticket {} entered once", ticket.id);
    }
    let (_, verdict) = terminal.scan(&tickets[0].credential).await.unwrap();
    assert_eq!(verdict.deny, Some(DenyReason::AlreadyUsed), "the synced count stands: {verdict:?}");
}

#[tokio::test]
async fn a_refused_upload_does_not_stop_the_terminal_from_syncing() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    // A scan the server refuses whole (422: no such session at this venue).
    let refused = NewScan {
        scanned_at_ms: admit_gate::now_ms(),
        gate_id: terminal.enrolment().gate_id,
        session_id: Some(999_999),
        ticket_id: None,
        ticket_version: None,
        reason: Some(DenyReason::Malformed),
        latitude: None,
        longitude: None,
        online: false,
        server_entries_used: None,
        direction: Direction::Entry,
        device_counter: None,
    };
    terminal.db().record_scans(&[refused]).await.unwrap();
    venue.reissue(&ticket, HolderBinding::None).await;

    let refreshed = terminal.refresh_each().await;

    assert!(
        matches!(refreshed.upload, Err(GateError::Refused { status: 422, .. })),
        "the upload is refused: {:?}",
        refreshed.upload
    );
    assert!(refreshed.sync.is_ok(), "the sync ran all the same: {:?}", refreshed.sync);
    let (_, old) = terminal.scan(&ticket.credential).await.unwrap();
    assert_eq!(old.deny, Some(DenyReason::RevokedVersion), "the re-issue was pulled: {old:?}");
    assert_eq!(terminal.db().pending_count().await.unwrap(), 2, "the refused scan waits, with the new one");
    assert!(terminal.refresh().await.is_err(), "refresh still reports the refusal");
}

#[tokio::test]
async fn the_status_counts_scans_as_they_happen_and_shows_a_refused_upload() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = std::sync::Arc::new(venue.terminal(0, TerminalConfig::default()).await);

    terminal.scan(&ticket.credential).await.unwrap();
    let after_scan = terminal.health();
    let refused = NewScan {
        scanned_at_ms: admit_gate::now_ms(),
        gate_id: terminal.enrolment().gate_id,
        session_id: Some(999_999),
        ticket_id: None,
        ticket_version: None,
        reason: Some(DenyReason::Malformed),
        latitude: None,
        longitude: None,
        online: false,
        server_entries_used: None,
        direction: Direction::Entry,
        device_counter: None,
    };
    terminal.db().record_scans(&[refused]).await.unwrap();
    // One background round: stop is already set, so it returns after the first.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    stop.send(true).unwrap();
    terminal.clone().run_background(stopped).await;
    let after_round = terminal.health();

    assert_eq!(after_scan.pending, 1, "counted when scanned, before any upload: {after_scan:?}");
    assert_eq!(after_round.pending, 2, "{after_round:?}");
    let refusal = after_round.upload_error.as_deref().unwrap_or_default();
    assert!(refusal.contains("422"), "the refusal is shown: {after_round:?}");
    assert_eq!(after_round.last_error, None, "the sync reached the server: {after_round:?}");
    assert!(after_round.last_contact_ms.is_some());
}
