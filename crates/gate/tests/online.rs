//! Online mode: the server's atomic verdict when it answers in time, the offline verdict when
//! it is down or slow — decided within the deadline — and an online verdict is logged as
//! already known to the server, so it is never uploaded (or counted) twice.

mod support;

use admit_domain::DenyReason;
use admit_gate::{LocalDb, Terminal, TerminalConfig};
use std::time::{Duration, Instant};
use support::Venue;

const DEADLINE: Duration = Duration::from_millis(300);
/// What the terminal may add to the deadline: the offline decision and the durable log write.
const SLACK: Duration = Duration::from_millis(400);

fn online() -> TerminalConfig {
    TerminalConfig { online: true, online_deadline: DEADLINE, ..TerminalConfig::default() }
}

#[tokio::test]
async fn online_mode_falls_back_to_offline_within_the_deadline_when_the_server_is_down() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = venue.terminal(0, online()).await;
    venue.stop_server_for_offline().await;

    let started = Instant::now();
    let (_, verdict) = terminal.scan(&ticket.credential).await.unwrap();
    let took = started.elapsed();

    assert!(took < DEADLINE + SLACK, "took {took:?}");
    assert!(verdict.is_admit() && !verdict.online, "{verdict:?}");
    assert_eq!(terminal.db().scan_counts().await.unwrap(), (1, 1), "logged, waiting for upload");
}

#[tokio::test]
async fn online_mode_falls_back_to_offline_within_the_deadline_when_the_server_hangs() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let synced = venue.terminal(0, online()).await;
    // A server that accepts connections and never answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = black_hole.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in black_hole.incoming() {
            held.push(stream);
        }
    });
    let mut enrolment = synced.enrolment().clone();
    enrolment.server = format!("http://{address}");
    let db: LocalDb = synced.db().clone();
    db.save_enrolment(&enrolment).await.unwrap();
    let terminal = Terminal::open(db, online()).await.unwrap();

    let started = Instant::now();
    let (_, verdict) = terminal.scan(&ticket.credential).await.unwrap();
    let took = started.elapsed();

    assert!(took >= DEADLINE, "it waited for the server first: {took:?}");
    assert!(took < DEADLINE + SLACK, "took {took:?}");
    assert!(verdict.is_admit() && !verdict.online, "{verdict:?}");
}

#[tokio::test]
async fn an_online_verdict_is_logged_as_known_to_the_server_and_never_uploaded() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = venue.terminal(0, online()).await;

    let (_, first) = terminal.scan(&ticket.credential).await.unwrap();
    let (_, second) = terminal.scan(&ticket.credential).await.unwrap();
    let (uploaded, _) = terminal.refresh().await.unwrap();
    venue.stop_server_for_offline().await;
    let (_, offline) = terminal.scan(&ticket.credential).await.unwrap();

    assert!(first.is_admit() && first.online, "{first:?}");
    assert_eq!((second.deny, second.online), (Some(DenyReason::AlreadyUsed), true));
    assert_eq!(uploaded.uploaded, 0, "the server decided them: nothing to upload");
    assert_eq!((offline.deny, offline.online), (Some(DenyReason::AlreadyUsed), false), "the log knows it entered");
    assert_eq!(venue.store.ticket(admit_domain::TicketId(ticket.id)).await.unwrap().entries_used, 1);
}
