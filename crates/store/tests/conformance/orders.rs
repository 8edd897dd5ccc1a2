//! Orders: an approved payment turns the hold into an order with its tickets and the seats
//! sold, in one step that is idempotent per payment and refuses tickets not matching the hold.

use super::fixtures::{GA_PRICE, MINUTE, T0, TTL, World};
use super::payments::one_vip_hold;
use super::support::{availability_of, completion, hold_seats, hold_units, pay, payment_for, seat_states, tickets_for};
use admit_domain::{EntryPolicy, HoldState, OrderState, PaymentState, TicketStatus};
use admit_store::{SeatState, Store, StoreError};
use std::sync::Arc;

pub async fn completing_an_order_issues_tickets_and_sells_the_seats(store: Arc<dyn Store>) {
    let (w, hold) = one_vip_hold(&*store).await;
    let payment = payment_for(&hold, T0 + MINUTE);
    store.begin_payment(payment.clone()).await.unwrap();
    let tickets = tickets_for(&hold);
    let done = completion(&hold, &payment.id, tickets.clone(), T0 + 2 * MINUTE);

    let order = store.complete_order(done.clone()).await.unwrap();

    assert_eq!(
        (order.id.as_str(), order.hold_id.as_str(), order.payment_id.as_str()),
        (&*done.order_id, &*hold.id, &*payment.id)
    );
    assert_eq!((order.session_id, order.event_id, order.state), (w.session(), w.event, OrderState::Paid));
    assert_eq!((order.total, order.created_at_ms), (hold.total, T0 + 2 * MINUTE));
    let mut issued: Vec<_> = order.tickets.iter().map(|t| (t.id, t.seat_label.clone())).collect();
    let mut expected: Vec<_> =
        tickets.iter().zip(&hold.lines).map(|(t, l)| (t.id, l.seat.clone().map(|s| s.1))).collect();
    issued.sort();
    expected.sort();
    assert_eq!(issued, expected);
    for t in &order.tickets {
        let new = tickets.iter().find(|n| n.id == t.id).unwrap();
        assert_eq!(store.ticket(t.id).await.unwrap(), *t);
        assert_eq!(
            (&t.order_id, t.session_id, t.event_id, t.grade_id, t.grade_code.as_str()),
            (&order.id, w.session(), w.event, w.vip.id, "VIP")
        );
        assert_eq!(
            (&t.reference, t.version, t.status, t.entries_used, t.max_entries),
            (&new.reference, 1, TicketStatus::Valid, 0, 1)
        );
        assert_eq!(
            (&t.credential, &t.inspection_code, t.price.minor()),
            (&new.credential, &new.inspection_code, new.price_minor)
        );
    }
    let p = store.payment(&payment.id).await.unwrap();
    assert_eq!(
        (p.state, p.authorization.as_deref(), p.updated_at_ms),
        (PaymentState::Approved, Some(&*done.authorization), T0 + 2 * MINUTE)
    );
    let converted = store.hold(&hold.id).await.unwrap();
    assert_eq!((converted.state, converted.order_id.as_deref()), (HoldState::Converted, Some(&*order.id)));
    let states = seat_states(&*store, w.session()).await;
    assert!(hold.lines.iter().all(|l| states[&l.seat.as_ref().unwrap().0] == SeatState::Sold));
    let a = availability_of(&*store, w.session(), w.vip.id).await;
    assert_eq!((a.held, a.sold, a.remaining()), (0, 2, a.total - 2));
    assert_eq!(store.order(&order.id).await.unwrap(), order);
}

/// What `complete_order` answers is exactly what reading the order back gives: tickets in
/// seat order then by reference, with grade codes, seat labels, entry policies and prices.
pub async fn a_completed_order_is_answered_exactly_as_it_reads_back(store: Arc<dyn Store>) {
    let pass_out = EntryPolicy { max_entries: 10, reentry: true, multi_day: false };
    let w = World::builder().ga_policy(pass_out).build(&*store).await;
    let (vip, r) = (w.seats_of(&*store, w.session(), w.vip.id).await, w.seats_of(&*store, w.session(), w.r.id).await);
    let holds = [
        hold_units(&*store, w.session(), w.ga.id, 4).await.unwrap(),
        hold_seats(&*store, w.session(), &[r[3].id, vip[1].id, r[2].id, vip[0].id], T0).await.unwrap(),
    ];
    let mut answers = Vec::new();
    for hold in holds {
        let answered = pay(&*store, &hold, T0).await.unwrap();
        assert_eq!(store.order(&answered.id).await.unwrap(), answered, "{:?}", hold.lines);
        assert_eq!(answered.tickets.len(), 4);
        answers.push(answered);
    }
    let ga = &answers[0].tickets[0];
    assert_eq!((ga.grade_code.as_str(), ga.policy, ga.seat_label.as_deref()), ("GA", pass_out, None));
    assert!(answers[1].tickets.iter().all(|t| t.seat_label.is_some()));
}

pub async fn completing_an_order_twice_returns_the_same_order(store: Arc<dyn Store>) {
    let (w, hold) = one_vip_hold(&*store).await;
    let payment = payment_for(&hold, T0);
    store.begin_payment(payment.clone()).await.unwrap();
    let done = completion(&hold, &payment.id, tickets_for(&hold), T0);
    let first = store.complete_order(done.clone()).await.unwrap();

    let again = store.complete_order(done).await.unwrap();
    let retry_with_new_ids = store.complete_order(completion(&hold, &payment.id, tickets_for(&hold), T0 + 1)).await;

    assert_eq!(again, first);
    assert_eq!(retry_with_new_ids.unwrap(), first, "a retry with fresh ids still returns the first order");
    let a = availability_of(&*store, w.session(), w.vip.id).await;
    assert_eq!((a.held, a.sold), (0, 2));
    assert_eq!(store.manifest(w.session()).await.unwrap().len(), 2);
}

pub async fn completing_after_the_hold_expired_sells_nothing(store: Arc<dyn Store>) {
    let (w, hold) = one_vip_hold(&*store).await;
    let payment = payment_for(&hold, T0 + 1);
    store.begin_payment(payment.clone()).await.unwrap();

    let late = completion(&hold, &payment.id, tickets_for(&hold), T0 + TTL);
    assert_err!(store.complete_order(late.clone()).await, StoreError::HoldNotActive(HoldState::Expired));

    let a = availability_of(&*store, w.session(), w.vip.id).await;
    assert_eq!((a.held, a.sold), (2, 0), "held until the sweeper runs, never sold");
    assert_eq!(store.payment(&payment.id).await.unwrap().state, PaymentState::Pending, "left for the refund");
    assert_err!(store.order(&late.order_id).await, StoreError::NotFound(_));
    assert_err!(store.ticket(late.tickets[0].id).await, StoreError::NotFound(_));
    assert_eq!(store.expire_holds(T0 + TTL).await.unwrap(), 1);
    assert!(seat_states(&*store, w.session()).await.values().all(|s| *s == SeatState::Free));
    store.settle_payment(&payment.id, PaymentState::Refunded, Some("hold expired"), T0 + TTL).await.unwrap();
}

pub async fn a_ticket_count_that_differs_from_the_hold_is_invalid(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let hold = hold_units(&*store, w.session(), w.ga.id, 3).await.unwrap();
    assert_eq!(hold.total.minor(), 3 * GA_PRICE);
    let payment = payment_for(&hold, T0);
    store.begin_payment(payment.clone()).await.unwrap();
    let mut tickets = tickets_for(&hold);
    assert_eq!(tickets.len(), 3, "one ticket per unit");
    let extra = tickets_for(&hold).remove(0);

    let fewer = completion(&hold, &payment.id, tickets[..2].to_vec(), T0);
    assert_err!(store.complete_order(fewer).await, StoreError::Invalid(_));
    tickets.push(extra);
    assert_err!(
        store.complete_order(completion(&hold, &payment.id, tickets.clone(), T0)).await,
        StoreError::Invalid(_)
    );

    assert_eq!(store.payment(&payment.id).await.unwrap().state, PaymentState::Pending);
    assert_eq!(store.hold(&hold.id).await.unwrap().state, HoldState::Active);
    assert_eq!(availability_of(&*store, w.session(), w.ga.id).await.sold, 0);
    tickets.pop();
    store.complete_order(completion(&hold, &payment.id, tickets, T0)).await.expect("the right count completes");
}

pub async fn tickets_must_match_the_seats_and_grades_of_the_hold(store: Arc<dyn Store>) {
    let (w, hold) = one_vip_hold(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let payment = payment_for(&hold, T0);
    store.begin_payment(payment.clone()).await.unwrap();

    let mut wrong_seat = tickets_for(&hold);
    wrong_seat[1].seat_id = Some(vip[5].id);
    let mut wrong_grade = tickets_for(&hold);
    wrong_grade[0].grade_id = w.r.id;

    for tickets in [wrong_seat, wrong_grade] {
        let r = store.complete_order(completion(&hold, &payment.id, tickets, T0)).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "tickets not matching the hold were accepted: {r:?}");
    }
    assert_eq!(seat_states(&*store, w.session()).await[&vip[5].id], SeatState::Free);
    assert!(store.manifest(w.session()).await.unwrap().is_empty());
    store.complete_order(completion(&hold, &payment.id, tickets_for(&hold), T0)).await.expect("matching tickets");
}
