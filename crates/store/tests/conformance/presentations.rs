//! A phone presentation (`ADP1:`) admits once (DESIGN §5): the store remembers the last counter
//! it accepted per ticket and version, and the guarded update that takes an entry or an exit
//! refuses one that is not newer (`replayed`), whatever the entry policy, under concurrency and
//! in uploads from offline terminals.

use super::fixtures::{HOUR, MINUTE, T0, World};
use super::support::{hold_units, pay, scan};
use admit_domain::{DenyReason, DeviceCounter, Direction, EntryPolicy};
use admit_store::{
    GateVerdict, NewGateDevice, ScanRequest, Store, StoreError, Ticket, TicketChangesQuery, UploadOutcome, UploadedScan,
};
use std::sync::Arc;
use tokio::sync::Barrier;

const DOORS: i64 = T0 + HOUR;
/// The phone's clock (unix seconds) when it signed the first presentation.
const SIGNED: u32 = 1_767_230_000;

async fn ga_ticket(store: &dyn Store, policy: EntryPolicy) -> (World, Ticket) {
    let w = World::builder().ga_policy(policy).build(store).await;
    let hold = hold_units(store, w.session(), w.ga.id, 1).await.unwrap();
    (w, pay(store, &hold, T0).await.unwrap().tickets.remove(0))
}

/// The ticket's presentation signed at `counter`, shown at gate `gate` at `now`.
fn shown(w: &World, ticket: &Ticket, gate: usize, counter: u32, now: i64) -> ScanRequest {
    ScanRequest { device_counter: Some(counter), ..scan(ticket, w.gate(gate), now) }
}

pub async fn a_phone_presentation_admits_once_even_on_a_multi_entry_ticket(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, EntryPolicy::entries(3)).await;

    let first = store.check_in(shown(&w, &ticket, 0, SIGNED, DOORS)).await.unwrap();
    let same = store.check_in(shown(&w, &ticket, 1, SIGNED, DOORS + 1)).await;
    let older = store.check_in(shown(&w, &ticket, 1, SIGNED - 1, DOORS + 2)).await;
    let newer = store.check_in(shown(&w, &ticket, 1, SIGNED + 10, DOORS + MINUTE)).await.unwrap();
    let printed = store.check_in(scan(&ticket, w.gate(0), DOORS + 2 * MINUTE)).await.unwrap();

    assert_eq!(first.entries_used, 1);
    assert_err!(same, StoreError::Denied(DenyReason::Replayed));
    assert_err!(older, StoreError::Denied(DenyReason::Replayed));
    assert_eq!(newer.entries_used, 2);
    assert_eq!(printed.entries_used, 3, "a static code carries no counter and does not touch it");
    assert_eq!(printed.after.last_counter, Some(DeviceCounter { version: ticket.version, counter: SIGNED + 10 }));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 3, "the replays took nothing");
}

pub async fn a_pass_out_exit_and_re_entry_follow_the_same_rule(store: Arc<dyn Store>) {
    let policy = EntryPolicy { max_entries: 5, reentry: true, multi_day: false };
    let (w, ticket) = ga_ticket(&*store, policy).await;
    let exit = |request: ScanRequest| ScanRequest { direction: Direction::Exit, ..request };

    store.check_in(shown(&w, &ticket, 0, SIGNED, DOORS)).await.unwrap();
    let leave_on_the_entry_code = store.check_in(exit(shown(&w, &ticket, 1, SIGNED, DOORS + 1))).await;
    store.check_in(exit(shown(&w, &ticket, 1, SIGNED + 5, DOORS + 5))).await.unwrap();
    let back_on_the_exit_code = store.check_in(shown(&w, &ticket, 0, SIGNED + 5, DOORS + 6)).await;
    let back = store.check_in(shown(&w, &ticket, 0, SIGNED + 6, DOORS + 7)).await.unwrap();

    assert_err!(leave_on_the_entry_code, StoreError::Denied(DenyReason::Replayed));
    assert_err!(back_on_the_exit_code, StoreError::Denied(DenyReason::Replayed));
    assert_eq!((back.entries_used, back.after.inside), (2, true));
}

pub async fn thirty_two_gates_shown_the_same_presentation_admit_it_once(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, EntryPolicy::entries(50)).await;
    let barrier = Arc::new(Barrier::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let (store, barrier) = (store.clone(), barrier.clone());
        let request = shown(&w, &ticket, i % 2, SIGNED, DOORS + i as i64);
        tasks.spawn(async move {
            barrier.wait().await;
            store.check_in(request).await
        });
    }
    let (mut admitted, mut refused) = (0, Vec::new());
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => admitted += 1,
            Err(StoreError::Denied(reason)) => refused.push(reason),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    assert_eq!((admitted, refused.len()), (1, 31));
    assert!(refused.iter().all(|r| *r == DenyReason::Replayed), "{refused:?}");
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 1);
}

pub async fn an_uploaded_replay_is_a_conflict_and_the_feed_carries_the_last_counter(store: Arc<dyn Store>) {
    let (w, ticket) = ga_ticket(&*store, EntryPolicy::entries(5)).await;
    let device = store
        .enrol_gate_device(NewGateDevice {
            gate_id: w.gate(1),
            name: "Lane".into(),
            token_hash: rand::random(),
            now_ms: T0,
        })
        .await
        .unwrap();
    let offline = |seq: i64, counter: u32| UploadedScan {
        seq,
        ticket_id: Some(ticket.id),
        ticket_version: Some(ticket.version),
        session_id: Some(ticket.session_id),
        event_id: Some(w.event),
        direction: Direction::Entry,
        gate_id: w.gate(1),
        verdict: GateVerdict::Admit,
        scanned_at_ms: DOORS + seq,
        latitude: None,
        longitude: None,
        device_counter: Some(counter),
    };
    store.check_in(shown(&w, &ticket, 0, SIGNED, DOORS)).await.unwrap();

    let results = store
        .upload_gate_scans(
            device.id,
            vec![offline(1, SIGNED), offline(2, SIGNED + 20), offline(3, SIGNED + 20)],
            DOORS + HOUR,
        )
        .await
        .unwrap();

    let outcomes: Vec<UploadOutcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            UploadOutcome::Conflict(DenyReason::Replayed),
            UploadOutcome::Counted,
            UploadOutcome::Conflict(DenyReason::Replayed)
        ]
    );
    let online_again = store.check_in(shown(&w, &ticket, 0, SIGNED + 20, DOORS + HOUR)).await;
    assert_err!(online_again, StoreError::Denied(DenyReason::Replayed));
    let feed = store
        .ticket_changes(TicketChangesQuery { sessions: vec![ticket.session_id], since: 0, after: None, limit: 10 })
        .await
        .unwrap();
    let fed = feed.tickets.iter().find(|t| t.id == ticket.id).unwrap();
    assert_eq!(
        (fed.entries_used, fed.last_counter),
        (2, Some(DeviceCounter { version: ticket.version, counter: SIGNED + 20 }))
    );
}
