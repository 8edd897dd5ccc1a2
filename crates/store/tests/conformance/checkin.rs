//! Check-in: the gate manifest and the atomic online scan decision, including two gates
//! racing on one ticket.

use super::fixtures::{HOUR, T0, World};
use super::support::{buy_seats, completion, hold_seats, hold_units, pay, payment_for, scan, tickets_for};
use admit_domain::{DenyReason, TicketId, TicketStatus};
use admit_store::{DeniedScan, ManifestRow, ScanRequest, Store, StoreError, Ticket};
use std::sync::Arc;
use tokio::sync::Barrier;

/// Doors open: an hour after the suite's T0, inside every scan's validity window.
const DOORS: i64 = T0 + HOUR;

/// One sold VIP ticket of the first session.
async fn one_ticket(store: &dyn Store) -> (World, Ticket) {
    let w = World::builder().build(store).await;
    let vip = w.seats_of(store, w.session(), w.vip.id).await;
    let order = buy_seats(store, w.session(), &[vip[0].id]).await;
    (w, order.tickets[0].clone())
}

pub async fn the_manifest_lists_tickets_with_codes_seats_grades_and_status(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let seated = buy_seats(&*store, w.session(), &[vip[0].id]).await;
    let standing = pay(&*store, &hold_units(&*store, w.session(), w.ga.id, 2).await.unwrap(), T0).await.unwrap();
    store.check_in(scan(&seated.tickets[0], w.gate(0), DOORS)).await.unwrap();

    let mut manifest = store.manifest(w.session()).await.unwrap();

    let row = |t: &Ticket, entries_used| ManifestRow {
        reference: t.reference.clone(),
        inspection_code: t.inspection_code.clone(),
        seat: t.seat_label.clone(),
        grade: t.grade_code.clone(),
        version: 1,
        status: TicketStatus::Valid,
        entries_used,
        max_entries: t.max_entries,
    };
    let mut expected = vec![row(&seated.tickets[0], 1), row(&standing.tickets[0], 0), row(&standing.tickets[1], 0)];
    manifest.sort_by(|a, b| a.reference.cmp(&b.reference));
    expected.sort_by(|a, b| a.reference.cmp(&b.reference));
    assert_eq!(manifest, expected);
    assert_eq!(seated.tickets[0].seat_label.as_deref(), Some(vip[0].label.as_str()));
    assert!(store.manifest(w.sessions[1]).await.unwrap().is_empty(), "the other session has sold nothing");
}

pub async fn a_single_entry_ticket_admits_once_then_is_already_used(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;

    let admitted = store.check_in(scan(&ticket, w.gate(0), DOORS)).await.unwrap();
    let second = store.check_in(scan(&ticket, w.gate(1), DOORS + 1)).await;

    assert_eq!(admitted.ticket_id, ticket.id);
    assert_eq!(
        (admitted.reference, admitted.seat_label, admitted.grade_code),
        (ticket.reference, ticket.seat_label, "VIP".into())
    );
    assert_eq!((admitted.entries_used, admitted.max_entries), (1, 1));
    assert_err!(second, StoreError::Denied(DenyReason::AlreadyUsed));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 1);
}

pub async fn a_gate_admitting_another_session_denies_wrong_session(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let at_day2_gate = ScanRequest { gate_session: w.sessions[1], ..scan(&ticket, w.gate(0), DOORS) };
    let claiming_day2 = ScanRequest { presented_session: w.sessions[1], ..at_day2_gate.clone() };

    assert_err!(store.check_in(at_day2_gate).await, StoreError::Denied(DenyReason::WrongSession));
    assert_err!(store.check_in(claiming_day2).await, StoreError::Denied(DenyReason::WrongSession));

    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 0, "a denial counts no entry");
    store.check_in(scan(&ticket, w.gate(0), DOORS)).await.expect("the right gate still admits");
}

pub async fn an_older_credential_version_is_revoked(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let hold = hold_seats(&*store, w.session(), &[vip[0].id], T0).await.unwrap();
    let payment = payment_for(&hold, T0);
    store.begin_payment(payment.clone()).await.unwrap();
    let mut tickets = tickets_for(&hold);
    tickets[0].version = 3;
    let done = completion(&hold, &payment.id, tickets, T0);
    let ticket = store.complete_order(done).await.unwrap().tickets.remove(0);
    assert_eq!(ticket.version, 3);

    let older = ScanRequest { presented_version: 2, ..scan(&ticket, w.gate(0), DOORS) };
    let newer = ScanRequest { presented_version: 4, ..scan(&ticket, w.gate(0), DOORS) };
    assert_err!(store.check_in(older).await, StoreError::Denied(DenyReason::RevokedVersion));
    assert_err!(store.check_in(newer).await, StoreError::Denied(DenyReason::RevokedVersion));

    assert_eq!(store.check_in(scan(&ticket, w.gate(0), DOORS)).await.unwrap().entries_used, 1);
}

pub async fn scans_outside_the_validity_window_are_denied(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let window = |now_ms| ScanRequest {
        valid_from_ms: DOORS,
        valid_until_ms: DOORS + HOUR,
        now_ms,
        ..scan(&ticket, w.gate(0), DOORS)
    };

    assert_err!(store.check_in(window(DOORS - 1)).await, StoreError::Denied(DenyReason::NotYetValid));
    assert_err!(store.check_in(window(DOORS + HOUR + 1)).await, StoreError::Denied(DenyReason::Expired));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 0);
    store.check_in(window(DOORS + HOUR)).await.expect("the window's last instant still admits");
}

pub async fn an_unknown_ticket_is_denied(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let unknown = ScanRequest { ticket_id: TicketId(ticket.id.0 ^ 1), ..scan(&ticket, w.gate(0), DOORS) };

    assert_err!(store.check_in(unknown).await, StoreError::Denied(DenyReason::UnknownTicket));
    assert_err!(store.ticket(TicketId(ticket.id.0 ^ 1)).await, StoreError::NotFound(_));
}

pub async fn a_multi_entry_ticket_admits_up_to_its_limit(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let hold = hold_units(&*store, w.session(), w.ga.id, 1).await.unwrap();
    let ticket = pay(&*store, &hold, T0).await.unwrap().tickets.remove(0);
    assert_eq!(ticket.max_entries, 2, "GA lets its holders out and back in once");

    let first = store.check_in(scan(&ticket, w.gate(0), DOORS)).await.unwrap();
    let second = store.check_in(scan(&ticket, w.gate(1), DOORS + 1)).await.unwrap();
    let third = store.check_in(scan(&ticket, w.gate(0), DOORS + 2)).await;

    assert_eq!((first.entries_used, second.entries_used, second.max_entries), (1, 2, 2));
    assert_eq!((first.seat_label, first.grade_code.as_str()), (None, "GA"));
    assert_err!(third, StoreError::Denied(DenyReason::AlreadyUsed));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 2);
}

pub async fn scans_denied_before_reaching_a_ticket_can_be_logged(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;

    for (ticket_id, reason) in [(None, DenyReason::Malformed), (Some(ticket.id), DenyReason::BadSignature)] {
        let denied = DeniedScan { ticket_id, gate_id: w.gate(1), session_id: w.session(), reason, now_ms: DOORS };
        store.log_denied_scan(denied).await.unwrap();
    }

    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 0, "logging a denial admits no one");
}

pub async fn thirty_two_gates_scanning_one_ticket_at_once_admit_exactly_once(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let barrier = Arc::new(Barrier::new(32));

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let (store, barrier, request) =
            (store.clone(), barrier.clone(), scan(&ticket, w.gate(i % 2), DOORS + i as i64));
        tasks.spawn(async move {
            barrier.wait().await;
            store.check_in(request).await
        });
    }
    let mut admitted = 0;
    let mut already_used = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(a) => {
                admitted += 1;
                assert_eq!(a.entries_used, 1);
            }
            Err(StoreError::Denied(DenyReason::AlreadyUsed)) => already_used += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    assert_eq!((admitted, already_used), (1, 31));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 1);
}
