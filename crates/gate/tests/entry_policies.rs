//! Entry policies at the terminal: re-entry with pass-out (an exit lane's terminal, `admit gate
//! run --exit`, passes a ticket out so it may enter again) and multi-day passes (admitted once at
//! each session), decided offline from the synced state and the local log, and reconciled by
//! the server when uploaded.

mod support;

use admit_domain::{DenyReason, Direction, SessionEntries, TicketId};
use admit_gate::{Terminal, TerminalConfig, Verdict};
use support::Venue;

fn exit_lane() -> TerminalConfig {
    TerminalConfig { direction: Direction::Exit, ..TerminalConfig::default() }
}

fn at(session: admit_domain::SessionId) -> TerminalConfig {
    TerminalConfig { session: Some(session.0), ..TerminalConfig::default() }
}

async fn scan(terminal: &Terminal, code: &str) -> Verdict {
    terminal.scan(code).await.unwrap().1
}

#[tokio::test]
async fn a_pass_out_cycle_is_decided_offline_by_the_entry_and_exit_lanes_of_one_terminal() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.reentry, 1).await.remove(0);
    let entry = venue.terminal(0, TerminalConfig::default()).await;
    let exit = Terminal::open(entry.db().clone(), exit_lane()).await.unwrap();
    venue.stop_server_for_offline().await;

    let entered = scan(&entry, &ticket.credential).await;
    let entered_again = scan(&entry, &ticket.credential).await;
    let left = scan(&exit, &ticket.credential).await;
    let left_again = scan(&exit, &ticket.credential).await;
    let back = scan(&entry, &ticket.credential).await;

    assert!(entered.is_admit(), "{entered:?}");
    assert_eq!((entered.admits, entered.inside, entered.entry_policy), (1, Some(true), Some("reentry")));
    assert_eq!(entered_again.deny, Some(DenyReason::AlreadyInside));
    assert!(left.is_admit(), "{left:?}");
    assert_eq!((left.admits, left.direction, left.inside), (0, Direction::Exit, Some(false)));
    assert_eq!(left_again.deny, Some(DenyReason::NotInside));
    assert!(back.is_admit(), "{back:?}");
    assert_eq!((back.entries_used, back.max_entries), (Some(2), Some(5)));
    assert_eq!(entry.db().scan_counts().await.unwrap(), (5, 5), "all logged, none uploaded yet");
}

#[tokio::test]
async fn pass_outs_at_separate_entry_and_exit_terminals_reconcile_through_the_server() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.reentry, 1).await.remove(0);
    let entry = venue.terminal(0, TerminalConfig::default()).await;
    let exit = venue.terminal(1, exit_lane()).await;

    let too_early = scan(&exit, &ticket.credential).await;
    let entered = scan(&entry, &ticket.credential).await;
    let (entry_up, _) = entry.refresh().await.unwrap();
    exit.refresh().await.unwrap();
    let left = scan(&exit, &ticket.credential).await;
    let (exit_up, _) = exit.refresh().await.unwrap();
    entry.refresh().await.unwrap();
    let back = scan(&entry, &ticket.credential).await;
    entry.refresh().await.unwrap();

    assert_eq!(too_early.deny, Some(DenyReason::NotInside), "nobody entered yet");
    assert!(entered.is_admit() && left.is_admit() && back.is_admit(), "{entered:?} {left:?} {back:?}");
    assert_eq!((entry_up.uploaded, entry_up.conflicts), (1, 0));
    assert_eq!((exit_up.uploaded, exit_up.conflicts), (1, 0), "the pass-out (the early denial went up before)");
    let stored = venue.store.ticket(TicketId(ticket.id)).await.unwrap();
    assert_eq!((stored.entries_used, stored.inside), (2, true));
    assert!(venue.conflicts().await.is_empty());
}

#[tokio::test]
async fn an_offline_exit_the_server_cannot_apply_is_reported_as_a_conflict() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.reentry, 1).await.remove(0);
    let entry = venue.terminal(0, TerminalConfig::default()).await;
    let exit = Terminal::open(entry.db().clone(), exit_lane()).await.unwrap();
    scan(&entry, &ticket.credential).await;
    entry.refresh().await.unwrap();
    // Meanwhile another gate passed the holder out online.
    let body = serde_json::json!({
        "credential": ticket.credential, "gate_id": venue.gates[1].0, "session_id": venue.session.0, "direction": "exit"
    });
    let online: serde_json::Value = venue
        .client
        .post(format!("{}/gate/scans", venue.base))
        .bearer_auth(&venue.staff_token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(online["verdict"], "admit", "{online}");

    let left_offline = scan(&exit, &ticket.credential).await;
    let (up, _) = exit.refresh().await.unwrap();

    assert!(left_offline.is_admit(), "this terminal still believed the holder inside");
    assert_eq!((up.uploaded, up.conflicts), (1, 1));
    let conflicts = venue.conflicts().await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["reason"], "not_inside");
}

#[tokio::test]
async fn a_multi_day_pass_is_admitted_once_at_each_sessions_offline_terminal() {
    let venue = Venue::start().await;
    let pass = venue.buy(venue.days, 1).await.remove(0);
    let single = venue.buy(venue.ga, 1).await.remove(0);
    let saturday = venue.terminal(0, at(venue.session)).await;
    let sunday = venue.terminal(1, at(venue.day2)).await;

    let sat = scan(&saturday, &pass.credential).await;
    let sat_again = scan(&saturday, &pass.credential).await;
    let sun = scan(&sunday, &pass.credential).await;
    let sun_again = scan(&sunday, &pass.credential).await;
    let single_on_sunday = scan(&sunday, &single.credential).await;

    assert!(sat.is_admit() && sun.is_admit(), "{sat:?} {sun:?}");
    assert_eq!(sat.entry_policy, Some("multi_day"));
    assert_eq!((sat_again.deny, sun_again.deny), (Some(DenyReason::AlreadyUsed), Some(DenyReason::AlreadyUsed)));
    assert_eq!(single_on_sunday.deny, Some(DenyReason::WrongSession));

    let (sat_up, _) = saturday.refresh().await.unwrap();
    let (sun_up, _) = sunday.refresh().await.unwrap();
    assert_eq!((sat_up.conflicts, sun_up.conflicts), (0, 0));
    let stored = venue.store.ticket(TicketId(pass.id)).await.unwrap();
    let expected: SessionEntries = SessionEntries([(venue.session.0, 1), (venue.day2.0, 1)].into_iter().collect());
    assert_eq!(stored.session_entries, expected);
    saturday.refresh().await.unwrap();
    assert_eq!(scan(&saturday, &pass.credential).await.deny, Some(DenyReason::AlreadyUsed), "after the sync too");
}
