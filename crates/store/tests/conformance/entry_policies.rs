//! Entry policies beyond "N entries": re-entry with pass-out (entry/exit scans, one person
//! inside at a time) and multi-day passes (valid at every session of their event, entries
//! counted per session), online and in uploads from offline terminals, under concurrency.

use super::fixtures::{HOUR, MINUTE, T0, World, event_keys, host};
use super::support::{hold_units, pay, scan};
use admit_domain::{DenyReason, Direction, EntryPolicy, SessionId};
use admit_store::{
    Admission, GateVerdict, NewGateDevice, ScanRequest, Store, StoreError, Ticket, UploadOutcome, UploadedScan,
};
use std::sync::Arc;
use tokio::sync::Barrier;

const DOORS: i64 = T0 + HOUR;
/// Doors of the second session (day 2).
const DAY2: i64 = DOORS + 24 * HOUR;

const PASS_OUT: EntryPolicy = EntryPolicy { max_entries: 10, reentry: true, multi_day: false };
const PASS: EntryPolicy = EntryPolicy { max_entries: 1, reentry: false, multi_day: true };

/// One GA ticket of the first session, GA having `policy`.
async fn ga_ticket(store: &dyn Store, policy: EntryPolicy) -> (World, Ticket) {
    let w = World::builder().ga_policy(policy).build(store).await;
    let hold = hold_units(store, w.session(), w.ga.id, 1).await.unwrap();
    (w, pay(store, &hold, T0).await.unwrap().tickets.remove(0))
}

fn exit(request: ScanRequest) -> ScanRequest {
    ScanRequest { direction: Direction::Exit, ..request }
}

/// A scan at a gate admitting for `session` of `w`'s event.
fn at_session(w: &World, ticket: &Ticket, session: SessionId, now: i64) -> ScanRequest {
    ScanRequest { gate_session: session, gate_event: Some(w.event), ..scan(ticket, w.gate(0), now) }
}

pub async fn a_pass_out_ticket_is_refused_while_inside_and_admitted_again_after_an_exit(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS_OUT).await;
    assert_eq!((ticket.policy, ticket.inside), (PASS_OUT, false));

    let entered = store.check_in(scan(&ticket, w.gate(0), DOORS)).await.unwrap();
    let again = store.check_in(scan(&ticket, w.gate(1), DOORS + 1)).await;
    let left = store.check_in(exit(scan(&ticket, w.gate(1), DOORS + 2))).await.unwrap();
    assert!(!store.ticket(ticket.id).await.unwrap().inside, "passed out");
    let back = store.check_in(scan(&ticket, w.gate(0), DOORS + 3)).await.unwrap();

    assert_eq!((entered.entries_used, entered.direction, entered.after.inside), (1, Direction::Entry, true));
    assert_err!(again, StoreError::Denied(DenyReason::AlreadyInside));
    assert_eq!((left.entries_used, left.direction, left.after.inside), (1, Direction::Exit, false));
    assert_eq!((back.entries_used, back.after.inside), (2, true));
    let stored = store.ticket(ticket.id).await.unwrap();
    assert_eq!((stored.entries_used, stored.inside), (2, true));
}

pub async fn an_exit_of_a_holder_who_is_not_inside_is_denied(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS_OUT).await;

    assert_err!(store.check_in(exit(scan(&ticket, w.gate(1), DOORS))).await, StoreError::Denied(DenyReason::NotInside));
    store.check_in(scan(&ticket, w.gate(0), DOORS + 1)).await.unwrap();
    store.check_in(exit(scan(&ticket, w.gate(1), DOORS + 2))).await.unwrap();
    assert_err!(
        store.check_in(exit(scan(&ticket, w.gate(1), DOORS + 3))).await,
        StoreError::Denied(DenyReason::NotInside)
    );
    assert!(!store.ticket(ticket.id).await.unwrap().inside);
}

pub async fn an_exit_scan_of_a_ticket_without_pass_out_is_denied_and_takes_nothing(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, EntryPolicy::entries(2)).await;
    store.check_in(scan(&ticket, w.gate(0), DOORS)).await.unwrap();

    assert_err!(
        store.check_in(exit(scan(&ticket, w.gate(1), DOORS + 1))).await,
        StoreError::Denied(DenyReason::NoReentry)
    );
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 1);
}

pub async fn a_multi_day_pass_is_admitted_once_per_session_and_denied_a_second_time_in_one(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS).await;
    assert_eq!(ticket.policy, PASS);

    let day1 = store.check_in(at_session(&w, &ticket, w.sessions[0], DOORS)).await.unwrap();
    let day1_again = store.check_in(at_session(&w, &ticket, w.sessions[0], DOORS + 1)).await;
    let day2 = store.check_in(at_session(&w, &ticket, w.sessions[1], DAY2)).await.unwrap();
    let day2_again = store.check_in(at_session(&w, &ticket, w.sessions[1], DAY2 + 1)).await;

    assert_eq!((day1.entries_used, day2.entries_used, day2.max_entries), (1, 1, 1));
    assert_err!(day1_again, StoreError::Denied(DenyReason::AlreadyUsed));
    assert_err!(day2_again, StoreError::Denied(DenyReason::AlreadyUsed));
    let stored = store.ticket(ticket.id).await.unwrap();
    assert_eq!((stored.session_entries.at(w.sessions[0]), stored.session_entries.at(w.sessions[1])), (1, 1));
}

pub async fn a_multi_day_pass_is_denied_at_a_session_of_another_event(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS).await;
    let other = World::builder().hosted_like(&w).build(&*store).await;

    let elsewhere = ScanRequest { gate_event: Some(other.event), ..at_session(&w, &ticket, other.sessions[1], DAY2) };
    let unknown_event = ScanRequest { gate_event: None, ..at_session(&w, &ticket, w.sessions[1], DAY2) };
    assert_err!(store.check_in(elsewhere).await, StoreError::Denied(DenyReason::WrongEvent));
    assert_err!(store.check_in(unknown_event).await, StoreError::Denied(DenyReason::WrongSession));
    assert_eq!(store.ticket(ticket.id).await.unwrap().session_entries.to_text(), "");
}

pub async fn a_single_session_ticket_is_still_denied_at_the_events_other_session(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, EntryPolicy::entries(2)).await;

    let day2 = at_session(&w, &ticket, w.sessions[1], DAY2);
    assert_err!(store.check_in(day2).await, StoreError::Denied(DenyReason::WrongSession));
}

/// Runs 32 copies of `request` at once; returns the admissions and the denials.
async fn race(store: &Arc<dyn Store>, request: ScanRequest) -> (Vec<Admission>, Vec<DenyReason>) {
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let (store, barrier) = (store.clone(), barrier.clone());
        let request = ScanRequest { now_ms: request.now_ms + i, ..request.clone() };
        tasks.spawn(async move {
            barrier.wait().await;
            store.check_in(request).await
        });
    }
    let (mut admitted, mut denied) = (Vec::new(), Vec::new());
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(a) => admitted.push(a),
            Err(StoreError::Denied(reason)) => denied.push(reason),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    (admitted, denied)
}

pub async fn thirty_two_gates_racing_pass_out_entries_and_exits_admit_exactly_once_each(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS_OUT).await;

    let (entries, refused) = race(&store, scan(&ticket, w.gate(0), DOORS)).await;
    assert_eq!((entries.len(), refused.len()), (1, 31));
    assert!(refused.iter().all(|r| *r == DenyReason::AlreadyInside), "{refused:?}");

    let (exits, refused) = race(&store, exit(scan(&ticket, w.gate(1), DOORS + MINUTE))).await;
    assert_eq!((exits.len(), refused.len()), (1, 31));
    assert!(refused.iter().all(|r| *r == DenyReason::NotInside), "{refused:?}");

    let stored = store.ticket(ticket.id).await.unwrap();
    assert_eq!((stored.entries_used, stored.inside), (1, false));
}

pub async fn thirty_two_gates_racing_a_multi_day_pass_on_day_two_admit_exactly_once(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS).await;
    store.check_in(at_session(&w, &ticket, w.sessions[0], DOORS)).await.unwrap();

    let (admitted, refused) = race(&store, at_session(&w, &ticket, w.sessions[1], DAY2)).await;

    assert_eq!((admitted.len(), refused.len()), (1, 31));
    assert_eq!(store.ticket(ticket.id).await.unwrap().session_entries.to_text(), {
        let mut ids = [w.sessions[0].0, w.sessions[1].0];
        ids.sort();
        format!("{}:1,{}:1", ids[0], ids[1])
    });
}

/// An offline scan of `ticket` at `session` (an admit in `direction`).
fn uploaded(w: &World, ticket: &Ticket, seq: i64, session: SessionId, direction: Direction, at: i64) -> UploadedScan {
    UploadedScan {
        seq,
        ticket_id: Some(ticket.id),
        ticket_version: Some(ticket.version),
        session_id: Some(session),
        event_id: Some(w.event),
        direction,
        gate_id: w.gate(0),
        verdict: GateVerdict::Admit,
        scanned_at_ms: at,
        latitude: None,
        longitude: None,
        device_counter: None,
    }
}

pub async fn uploaded_pass_outs_reconcile_and_an_exit_that_cannot_apply_is_a_conflict(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS_OUT).await;
    let device = store
        .enrol_gate_device(NewGateDevice {
            gate_id: w.gate(0),
            name: "Lane".into(),
            token_hash: rand::random(),
            now_ms: T0,
        })
        .await
        .unwrap();
    let s = w.session();
    let scans = vec![
        uploaded(&w, &ticket, 1, s, Direction::Entry, DOORS),
        uploaded(&w, &ticket, 2, s, Direction::Exit, DOORS + 1),
        uploaded(&w, &ticket, 3, s, Direction::Entry, DOORS + 2),
        uploaded(&w, &ticket, 4, s, Direction::Entry, DOORS + 3),
        uploaded(&w, &ticket, 5, s, Direction::Exit, DOORS + 4),
        uploaded(&w, &ticket, 6, s, Direction::Exit, DOORS + 5),
    ];

    let results = store.upload_gate_scans(device.id, scans, DOORS + MINUTE).await.unwrap();

    let outcomes: Vec<UploadOutcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            UploadOutcome::Counted,
            UploadOutcome::Counted,
            UploadOutcome::Counted,
            UploadOutcome::Conflict(DenyReason::AlreadyInside),
            UploadOutcome::Counted,
            UploadOutcome::Conflict(DenyReason::NotInside),
        ]
    );
    let stored = store.ticket(ticket.id).await.unwrap();
    assert_eq!((stored.entries_used, stored.inside), (2, false));
    let entries: u64 = store.entries(s, HOUR).await.unwrap().iter().map(|e| e.uploaded).sum();
    assert_eq!(entries, 2, "exits are not counted as entries");
}

pub async fn an_uploaded_multi_day_pass_counts_per_session(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, PASS).await;
    let device = store
        .enrol_gate_device(NewGateDevice {
            gate_id: w.gate(0),
            name: "Lane".into(),
            token_hash: rand::random(),
            now_ms: T0,
        })
        .await
        .unwrap();
    let scans = vec![
        uploaded(&w, &ticket, 1, w.sessions[0], Direction::Entry, DOORS),
        uploaded(&w, &ticket, 2, w.sessions[1], Direction::Entry, DAY2),
        uploaded(&w, &ticket, 3, w.sessions[1], Direction::Entry, DAY2 + 1),
    ];

    let results = store.upload_gate_scans(device.id, scans, DAY2 + MINUTE).await.unwrap();

    let outcomes: Vec<UploadOutcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [UploadOutcome::Counted, UploadOutcome::Counted, UploadOutcome::Conflict(DenyReason::AlreadyUsed)]
    );
}

pub async fn an_unusable_entry_policy_is_refused_and_nothing_is_created(store: Arc<dyn Store>) {
    let (organiser, venue) = host(&*store, "Policy Checkers").await;
    let both = EntryPolicy { max_entries: 1, reentry: true, multi_day: true };
    for bad in [EntryPolicy::entries(0), both] {
        let event = World::builder().ga_policy(bad).new_event(organiser, &venue, event_keys());
        assert_err!(store.create_event(event).await, StoreError::Invalid(_));
    }
    assert!(store.list_events().await.unwrap().is_empty(), "nothing was created");
}
