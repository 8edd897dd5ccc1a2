//! Payments: a pending attempt is recorded before the gateway is called, one at a time per
//! hold, for exactly the hold's total; then settled as declined, timed out or refunded.

use super::fixtures::{T0, World};
use super::support::{availability_of, completion, hold_seats, hold_units, pay, payment_for, tickets_for};
use admit_domain::{Currency, HoldState, Money, PaymentState};
use admit_store::{Store, StoreError};
use std::sync::Arc;

/// An event and a hold of two VIP seats of its first session, made at T0.
pub(super) async fn one_vip_hold(store: &dyn Store) -> (World, admit_store::Hold) {
    let w = World::builder().build(store).await;
    let vip = w.seats_of(store, w.session(), w.vip.id).await;
    let hold = hold_seats(store, w.session(), &[vip[0].id, vip[1].id], T0).await.unwrap();
    (w, hold)
}

pub async fn a_payment_begins_as_pending_on_an_active_hold(store: Arc<dyn Store>) {
    let (_, hold) = one_vip_hold(&*store).await;
    let new = payment_for(&hold, T0 + 1);

    store.begin_payment(new.clone()).await.unwrap();

    let p = store.payment(&new.id).await.unwrap();
    assert_eq!((p.hold_id, p.gateway, p.amount, p.method), (hold.id, new.gateway, hold.total, new.method));
    assert_eq!((p.state, p.detail, p.authorization), (PaymentState::Pending, None, None));
    assert_eq!((p.created_at_ms, p.updated_at_ms), (T0 + 1, T0 + 1));
    assert_err!(store.payment("no-such-payment").await, StoreError::NotFound(_));
}

pub async fn only_one_of_two_concurrent_payments_for_a_hold_may_be_pending(store: Arc<dyn Store>) {
    let (_, hold) = one_vip_hold(&*store).await;
    let (a, b) = (payment_for(&hold, T0 + 1), payment_for(&hold, T0 + 1));

    let racers = [a.clone(), b.clone()].map(|p| {
        let store = store.clone();
        tokio::spawn(async move { store.begin_payment(p).await })
    });
    let mut results = Vec::new();
    for r in racers {
        results.push(r.await.unwrap());
    }

    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict(_)))), "{results:?}");
    assert_eq!(store.payments_in_state(PaymentState::Pending, T0 + 2).await.unwrap().len(), 1);
    let third = payment_for(&hold, T0 + 2);
    assert_err!(store.begin_payment(third).await, StoreError::Conflict(_));
}

pub async fn a_payment_for_another_amount_or_currency_is_invalid(store: Arc<dyn Store>) {
    let (_, hold) = one_vip_hold(&*store).await;
    let more = Money::new(hold.total.minor() + 1, hold.total.currency()).unwrap();
    let dollars = Money::new(hold.total.minor(), Currency::USD).unwrap();

    for amount in [more, dollars] {
        let p = admit_store::NewPayment { amount, ..payment_for(&hold, T0) };
        assert_err!(store.begin_payment(p.clone()).await, StoreError::Invalid(_));
        assert_err!(store.payment(&p.id).await, StoreError::NotFound(_));
    }
    store.begin_payment(payment_for(&hold, T0)).await.expect("the right amount is accepted");
}

pub async fn a_payment_on_an_expired_cancelled_or_paid_hold_is_refused(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let mut holds = Vec::new();
    for seat in &vip[..3] {
        holds.push(hold_seats(&*store, w.session(), &[seat.id], T0).await.unwrap());
    }
    let [expiring, cancelled, paid] = <[_; 3]>::try_from(holds).unwrap();
    store.cancel_hold(&cancelled.id, T0 + 1).await.unwrap();
    pay(&*store, &paid, T0 + 1).await.unwrap();

    let at_expiry = payment_for(&expiring, expiring.expires_at_ms);
    assert_err!(store.begin_payment(at_expiry).await, StoreError::HoldNotActive(HoldState::Expired));
    let r = store.begin_payment(payment_for(&cancelled, T0 + 2)).await;
    assert_err!(r, StoreError::HoldNotActive(HoldState::Released));
    let r = store.begin_payment(payment_for(&paid, T0 + 2)).await;
    assert_err!(r, StoreError::HoldNotActive(HoldState::Converted));
    store.begin_payment(payment_for(&expiring, expiring.expires_at_ms - 1)).await.expect("one ms before is fine");
}

/// Tickets are the hold's lines made permanent: a ticket for a seat or grade the hold does not
/// contain must be refused, or a seat could carry a valid ticket while still on sale.
pub async fn settling_moves_payments_to_declined_timed_out_or_refunded(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let mut holds = Vec::new();
    for _ in 0..3 {
        holds.push(hold_units(&*store, w.session(), w.ga.id, 1).await.unwrap());
    }
    let [declined, timed_out, pending] = [0, 1, 2].map(|i| payment_for(&holds[i], T0 + i as i64));
    for p in [&declined, &timed_out, &pending] {
        store.begin_payment(p.clone()).await.unwrap();
    }

    store.settle_payment(&declined.id, PaymentState::Declined, Some("insufficient_funds"), T0 + 10).await.unwrap();
    store.settle_payment(&timed_out.id, PaymentState::TimedOut, None, T0 + 11).await.unwrap();

    let d = store.payment(&declined.id).await.unwrap();
    assert_eq!(
        (d.state, d.detail.as_deref(), d.updated_at_ms),
        (PaymentState::Declined, Some("insufficient_funds"), T0 + 10)
    );
    assert_eq!(store.payment(&timed_out.id).await.unwrap().state, PaymentState::TimedOut);
    let ids = |ps: Vec<admit_store::Payment>| ps.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(store.payments_in_state(PaymentState::Pending, T0 + 3).await.unwrap()), vec![pending.id.clone()]);
    assert!(store.payments_in_state(PaymentState::Pending, T0 + 2).await.unwrap().is_empty(), "strictly before");
    assert_eq!(
        ids(store.payments_in_state(PaymentState::TimedOut, T0 + 12).await.unwrap()),
        vec![timed_out.id.clone()]
    );

    store.settle_payment(&timed_out.id, PaymentState::Refunded, Some("reversed"), T0 + 20).await.unwrap();
    store.settle_payment(&timed_out.id, PaymentState::Refunded, Some("reversed"), T0 + 21).await.expect("idempotent");
    assert_eq!(store.payment(&timed_out.id).await.unwrap().state, PaymentState::Refunded);
    assert_err!(
        store.settle_payment(&declined.id, PaymentState::TimedOut, None, T0 + 22).await,
        StoreError::Conflict(_)
    );
    assert_err!(store.settle_payment(&pending.id, PaymentState::Approved, None, T0 + 22).await, StoreError::Invalid(_));
    assert_err!(
        store.settle_payment("no-such-payment", PaymentState::Declined, None, T0).await,
        StoreError::NotFound(_)
    );
    assert_eq!(store.payment(&pending.id).await.unwrap().state, PaymentState::Pending);
}

pub async fn a_declined_payment_keeps_the_hold_payable(store: Arc<dyn Store>) {
    let (w, hold) = one_vip_hold(&*store).await;
    let first = payment_for(&hold, T0);
    store.begin_payment(first.clone()).await.unwrap();

    store.settle_payment(&first.id, PaymentState::Declined, Some("do_not_honor"), T0 + 1).await.unwrap();

    assert_eq!(store.hold(&hold.id).await.unwrap().state, HoldState::Active);
    assert_eq!(availability_of(&*store, w.session(), w.vip.id).await.held, 2);
    let second = payment_for(&hold, T0 + 2);
    store.begin_payment(second.clone()).await.expect("a new attempt may begin");
    let order = store.complete_order(completion(&hold, &second.id, tickets_for(&hold), T0 + 3)).await.unwrap();
    assert_eq!((order.payment_id, order.tickets.len()), (second.id, 2));
    assert_eq!(store.payment(&first.id).await.unwrap().state, PaymentState::Declined);
}
