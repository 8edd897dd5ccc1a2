//! The buyer's phone: one-time login links, buyer sessions that hold orders, the ticket view,
//! device binding (a re-issue that revokes older credentials, logged) and inspection (an
//! entry consumed under the gate's rules, logged).

use super::fixtures::{HOUR, MINUTE, T0, World};
use super::support::{buy_seats, completion, hold_units, pay, payment_for, scan, tickets_for};
use admit_domain::{DenyReason, EventKind, TicketId};
use admit_store::{
    BindDevice, BindOutcome, CompleteOrder, DeviceKeyRecord, InspectTicket, LoginRedemption, NewLoginLink, Order,
    OrderLoginLink, ScanRequest, Store, StoreError, Ticket,
};
use std::sync::Arc;

const DOORS: i64 = T0 + HOUR;

fn hash(n: u8) -> [u8; 32] {
    [n; 32]
}

fn link(order: &Order, token: u8, expires_at_ms: i64) -> NewLoginLink {
    NewLoginLink { token_hash: hash(token), order_id: order.id.clone(), now_ms: T0, expires_at_ms }
}

fn ed25519(n: u8) -> DeviceKeyRecord {
    DeviceKeyRecord { algorithm: "Ed25519".into(), public_key: vec![n; 32] }
}

fn bind(ticket: &Ticket, from_version: u32, device: DeviceKeyRecord, rebind: bool) -> BindDevice {
    BindDevice {
        ticket_id: ticket.id,
        from_version,
        credential: format!("ADM1:bound-{}-v{}", ticket.id, from_version + 1),
        inspection_code: format!("PW{}", from_version + 1),
        device,
        rebind,
        now_ms: T0 + MINUTE,
    }
}

fn inspect(ticket: &Ticket, session: u8, now_ms: i64) -> InspectTicket {
    InspectTicket {
        ticket_id: ticket.id,
        session_hash: hash(session),
        valid_from_ms: DOORS - HOUR,
        valid_until_ms: DOORS + HOUR,
        now_ms,
    }
}

/// A world and one paid order of one VIP seat.
async fn one_order(store: &dyn Store) -> (World, Order) {
    let w = World::builder().build(store).await;
    let vip = w.seats_of(store, w.session(), w.vip.id).await;
    let order = buy_seats(store, w.session(), &[vip[0].id]).await;
    (w, order)
}

pub async fn a_login_link_grants_its_order_once(store: Arc<dyn Store>) {
    let (_, order) = one_order(&*store).await;
    store.create_login_link(link(&order, 1, T0 + HOUR)).await.unwrap();

    let first = store.redeem_login_link(hash(1), hash(10), T0 + 1).await.unwrap();
    let again = store.redeem_login_link(hash(1), hash(11), T0 + 2).await.unwrap();
    let unknown = store.redeem_login_link(hash(2), hash(11), T0 + 2).await.unwrap();

    assert_eq!(first, LoginRedemption::Granted { order_id: order.id.clone() });
    assert_eq!((again, unknown), (LoginRedemption::AlreadyUsed, LoginRedemption::Unknown));
    let tickets = store.buyer_tickets(hash(10)).await.unwrap().expect("the session exists");
    assert_eq!(tickets.iter().map(|v| v.ticket.id).collect::<Vec<_>>(), vec![order.tickets[0].id]);
    assert_eq!(store.buyer_tickets(hash(11)).await.unwrap(), None, "a used link logs nobody in");
}

pub async fn the_confirmation_link_is_stored_with_the_order_and_with_a_repeated_completion(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let hold = hold_units(&*store, w.session(), w.ga.id, 1).await.unwrap();
    let payment = payment_for(&hold, T0);
    store.begin_payment(payment.clone()).await.unwrap();
    let with_link = |token| CompleteOrder {
        login_link: Some(OrderLoginLink { token_hash: hash(token), expires_at_ms: T0 + HOUR }),
        ..completion(&hold, &payment.id, tickets_for(&hold), T0)
    };

    let order = store.complete_order(with_link(1)).await.unwrap();
    let again = store.complete_order(with_link(2)).await.unwrap();

    assert_eq!(again.id, order.id, "the payment's order, not a second one");
    for (token, session) in [(1, 10), (2, 11)] {
        let redeemed = store.redeem_login_link(hash(token), hash(session), T0 + 1).await.unwrap();
        assert_eq!(redeemed, LoginRedemption::Granted { order_id: order.id.clone() }, "link {token}");
    }
    let bought = store.buyer_tickets(hash(10)).await.unwrap().expect("the session exists");
    assert_eq!(bought.iter().map(|v| v.ticket.id).collect::<Vec<_>>(), vec![order.tickets[0].id]);
}

pub async fn expired_and_used_login_links_are_purged_and_fresh_ones_kept(store: Arc<dyn Store>) {
    let (_, order) = one_order(&*store).await;
    store.create_login_link(link(&order, 1, T0 + HOUR)).await.unwrap();
    store.create_login_link(link(&order, 2, T0 + 3 * HOUR)).await.unwrap();
    store.create_login_link(link(&order, 3, T0 + 3 * HOUR)).await.unwrap();
    store.redeem_login_link(hash(2), hash(10), T0 + MINUTE).await.unwrap();

    let purged = store.purge_login_links(T0 + 2 * HOUR, T0 + 2 * MINUTE).await.unwrap();

    assert_eq!(purged, 2, "the expired link and the used one");
    let redeem = |token| store.redeem_login_link(hash(token), hash(11), T0 + 2 * HOUR);
    assert_eq!(redeem(1).await.unwrap(), LoginRedemption::Unknown);
    assert_eq!(redeem(2).await.unwrap(), LoginRedemption::Unknown);
    assert_eq!(redeem(3).await.unwrap(), LoginRedemption::Granted { order_id: order.id.clone() });
    assert_eq!(store.purge_login_links(T0, T0).await.unwrap(), 0, "nothing else is due");
}

pub async fn an_expired_login_link_grants_nothing(store: Arc<dyn Store>) {
    let (_, order) = one_order(&*store).await;
    store.create_login_link(link(&order, 1, T0 + HOUR)).await.unwrap();

    let late = store.redeem_login_link(hash(1), hash(10), T0 + HOUR).await.unwrap();

    assert_eq!(late, LoginRedemption::Expired);
    assert_eq!(store.buyer_tickets(hash(10)).await.unwrap(), None);
    assert_err!(
        store.create_login_link(NewLoginLink { order_id: "no-such-order".into(), ..link(&order, 2, T0) }).await,
        StoreError::NotFound("order")
    );
}

pub async fn a_buyer_session_holds_every_order_it_opened_and_no_other(store: Arc<dyn Store>) {
    let (w, first) = one_order(&*store).await;
    let second = pay(&*store, &hold_units(&*store, w.session(), w.ga.id, 2).await.unwrap(), T0).await.unwrap();
    let strangers = pay(&*store, &hold_units(&*store, w.session(), w.ga.id, 1).await.unwrap(), T0).await.unwrap();
    store.create_login_link(link(&first, 1, T0 + HOUR)).await.unwrap();
    store.create_login_link(link(&second, 2, T0 + HOUR)).await.unwrap();
    store.create_login_link(link(&strangers, 3, T0 + HOUR)).await.unwrap();

    store.redeem_login_link(hash(1), hash(10), T0).await.unwrap();
    store.redeem_login_link(hash(2), hash(10), T0).await.unwrap();
    store.redeem_login_link(hash(3), hash(20), T0).await.unwrap();

    let mut mine: Vec<TicketId> =
        store.buyer_tickets(hash(10)).await.unwrap().unwrap().iter().map(|v| v.ticket.id).collect();
    let mut expected: Vec<TicketId> = first.tickets.iter().chain(&second.tickets).map(|t| t.id).collect();
    mine.sort();
    expected.sort();
    assert_eq!(mine, expected);
    let own = store.buyer_ticket(hash(10), second.tickets[1].id).await.unwrap();
    assert_eq!(own.ticket, second.tickets[1]);
    assert_err!(store.buyer_ticket(hash(10), strangers.tickets[0].id).await, StoreError::NotFound("ticket"));
    assert_err!(store.buyer_ticket(hash(99), first.tickets[0].id).await, StoreError::NotFound("ticket"));
}

pub async fn the_ticket_view_names_event_venue_round_grade_and_quantity(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let order = pay(&*store, &hold_units(&*store, w.session(), w.ga.id, 3).await.unwrap(), T0).await.unwrap();
    let detail = store.event(w.event).await.unwrap();
    let session = detail.sessions.iter().find(|s| s.id == w.session()).unwrap();

    let view = store.ticket_view(order.tickets[2].id).await.unwrap();

    assert_eq!(view.ticket, order.tickets[2]);
    assert_eq!((view.event_name.as_str(), view.event_kind), (detail.event.name.as_str(), EventKind::Concert));
    assert_eq!((view.venue_name.as_str(), view.venue_city.as_str()), (w.venue.name.as_str(), w.venue.city.as_str()));
    assert_eq!(view.session_label, session.label);
    assert_eq!(
        (view.starts_at_ms, view.ends_at_ms, view.doors_at_ms),
        (session.starts_at_ms, session.ends_at_ms, session.doors_at_ms)
    );
    assert_eq!((view.grade_name.as_str(), view.order_quantity), (w.ga.name.as_str(), 3));
    assert_eq!((view.device, view.device_bound_at_ms), (None, None));
}

pub async fn binding_a_device_re_issues_the_ticket_and_logs_it(store: Arc<dyn Store>) {
    let (w, order) = one_order(&*store).await;
    let ticket = &order.tickets[0];

    let outcome = store.bind_device(bind(ticket, 1, ed25519(7), false)).await.unwrap();

    assert_eq!(outcome, BindOutcome::Bound { version: 2 });
    let view = store.ticket_view(ticket.id).await.unwrap();
    assert_eq!((view.ticket.version, view.device.clone()), (2, Some(ed25519(7))));
    assert_eq!(view.ticket.credential, format!("ADM1:bound-{}-v2", ticket.id));
    assert_eq!((view.ticket.inspection_code.as_str(), view.device_bound_at_ms), ("PW2", Some(T0 + MINUTE)));
    let log = store.device_bindings(ticket.id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].old.clone(), log[0].new.clone(), log[0].from_version, log[0].to_version, log[0].at_ms),
        (None, ed25519(7), 1, 2, T0 + MINUTE)
    );
    let old_credential = ScanRequest { presented_version: 1, ..scan(ticket, w.gate(0), DOORS) };
    assert_err!(store.check_in(old_credential).await, StoreError::Denied(DenyReason::RevokedVersion));
    store.check_in(ScanRequest { presented_version: 2, ..scan(ticket, w.gate(0), DOORS) }).await.expect("v2 admits");
}

pub async fn a_bound_ticket_moves_to_another_key_only_when_asked(store: Arc<dyn Store>) {
    let (_, order) = one_order(&*store).await;
    let ticket = &order.tickets[0];
    store.bind_device(bind(ticket, 1, ed25519(7), false)).await.unwrap();

    let other = store.bind_device(bind(ticket, 2, ed25519(8), false)).await.unwrap();
    let same = store.bind_device(bind(ticket, 1, ed25519(7), false)).await.unwrap();
    let stale = store.bind_device(bind(ticket, 1, ed25519(8), true)).await.unwrap();
    let moved = store.bind_device(bind(ticket, 2, ed25519(8), true)).await.unwrap();

    assert_eq!((other, same), (BindOutcome::AlreadyBound, BindOutcome::Unchanged { version: 2 }));
    assert_eq!((stale, moved), (BindOutcome::VersionMoved { current: 2 }, BindOutcome::Bound { version: 3 }));
    assert_eq!(store.ticket_view(ticket.id).await.unwrap().device, Some(ed25519(8)));
    let log = store.device_bindings(ticket.id).await.unwrap();
    assert_eq!(log.len(), 2, "refusals change nothing and log nothing");
    assert_eq!((log[1].old.clone(), log[1].new.clone(), log[1].to_version), (Some(ed25519(7)), ed25519(8), 3));
}

pub async fn two_phones_binding_one_ticket_at_once_bind_it_once(store: Arc<dyn Store>) {
    let (_, order) = one_order(&*store).await;
    let ticket = order.tickets[0].clone();

    let (a, b) = tokio::join!(
        store.bind_device(bind(&ticket, 1, ed25519(1), true)),
        store.bind_device(bind(&ticket, 1, ed25519(2), true)),
    );

    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [BindOutcome::Bound { version: 2 }, BindOutcome::VersionMoved { current: 2 }]);
    assert_eq!(store.ticket(ticket.id).await.unwrap().version, 2);
    assert_eq!(store.device_bindings(ticket.id).await.unwrap().len(), 1);
}

pub async fn inspecting_consumes_an_entry_like_a_gate_and_is_logged(store: Arc<dyn Store>) {
    let (w, order) = one_order(&*store).await;
    let ticket = &order.tickets[0];

    let first = store.inspect_ticket(inspect(ticket, 10, DOORS)).await.unwrap();
    let second = store.inspect_ticket(inspect(ticket, 10, DOORS + 1)).await.unwrap();

    let admitted = first.verdict.expect("the first check admits");
    assert_eq!((admitted.entries_used, admitted.max_entries, first.ticket.entries_used), (1, 1, 1));
    assert_eq!((second.verdict, second.ticket.entries_used), (Err(DenyReason::AlreadyUsed), 1));
    assert_eq!(second.ticket.inspection_code, ticket.inspection_code);
    let log = store.inspections(ticket.id).await.unwrap();
    let summary: Vec<_> = log.iter().map(|l| (l.ticket_version, l.session_hash, l.at_ms, l.reason)).collect();
    assert_eq!(summary, vec![(1, hash(10), DOORS, None), (1, hash(10), DOORS + 1, Some(DenyReason::AlreadyUsed))]);
    assert_err!(store.check_in(scan(ticket, w.gate(0), DOORS)).await, StoreError::Denied(DenyReason::AlreadyUsed));
}

pub async fn an_inspection_outside_the_validity_window_uses_nothing(store: Arc<dyn Store>) {
    let (_, order) = one_order(&*store).await;
    let ticket = &order.tickets[0];

    let early = store.inspect_ticket(inspect(ticket, 10, DOORS - HOUR - 1)).await.unwrap();
    let late = store.inspect_ticket(inspect(ticket, 10, DOORS + HOUR + 1)).await.unwrap();

    assert_eq!((early.verdict, late.verdict), (Err(DenyReason::NotYetValid), Err(DenyReason::Expired)));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 0);
    assert_eq!(store.inspections(ticket.id).await.unwrap().len(), 2);
    assert_err!(
        store
            .inspect_ticket(InspectTicket { ticket_id: TicketId(ticket.id.0 ^ 1), ..inspect(ticket, 10, DOORS) })
            .await,
        StoreError::NotFound("ticket")
    );
}
