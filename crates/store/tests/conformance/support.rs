//! Small actions and reads the tests share: holding, paying, issuing tickets, scanning, and
//! snapshots of availability and seat states.

use super::fixtures::{T0, TTL};
use admit_domain::{GateId, GradeId, SeatId, SessionId, TicketId};
use admit_store::{
    CompleteOrder, GradeAvailability, Hold, HoldRequest, NewHold, NewPayment, NewTicket, Order, ScanRequest, SeatState,
    Store, StoreResult, Ticket,
};
use rand::Rng;
use std::collections::BTreeMap;

/// A random id with a readable prefix, e.g. `hold-5f3a…`.
pub fn fresh_id(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// A hold request made at `now` that lasts [`TTL`].
pub fn new_hold(session: SessionId, request: HoldRequest, now: i64) -> NewHold {
    NewHold { id: fresh_id("hold"), session_id: session, request, now_ms: now, expires_at_ms: now + TTL }
}

pub async fn hold_seats(store: &dyn Store, session: SessionId, seats: &[SeatId], now: i64) -> StoreResult<Hold> {
    store.create_hold(new_hold(session, HoldRequest::Seats(seats.to_vec()), now)).await
}

pub async fn hold_units(store: &dyn Store, session: SessionId, grade: GradeId, quantity: u32) -> StoreResult<Hold> {
    store.create_hold(new_hold(session, HoldRequest::Units { grade, quantity }, T0)).await
}

/// A card payment for exactly the hold's total.
pub fn payment_for(hold: &Hold, now: i64) -> NewPayment {
    NewPayment {
        id: fresh_id("pay"),
        hold_id: hold.id.clone(),
        gateway: "card-sim".into(),
        amount: hold.total,
        method: "card **** 4242".into(),
        now_ms: now,
    }
}

/// One ticket per seat line and per unit, as the server would issue them (unsigned here).
pub fn tickets_for(hold: &Hold) -> Vec<NewTicket> {
    let mut rng = rand::thread_rng();
    let mut tickets = Vec::new();
    for line in &hold.lines {
        for _ in 0..line.quantity {
            let id: i64 = rng.gen_range(1..i64::MAX);
            tickets.push(NewTicket {
                id: TicketId(id),
                reference: format!("T-{id}"),
                grade_id: line.grade_id,
                seat_id: line.seat.as_ref().map(|(seat, _)| *seat),
                price_minor: line.unit_price.minor(),
                version: 1,
                max_entries: line.policy.max_entries,
                credential: format!("ADM1:credential-of-{id}"),
                inspection_code: format!("{:06}", id % 1_000_000),
            });
        }
    }
    tickets
}

/// The approval of `payment_id` for `hold` with the given tickets.
pub fn completion(hold: &Hold, payment_id: &str, tickets: Vec<NewTicket>, now: i64) -> CompleteOrder {
    CompleteOrder {
        order_id: fresh_id("order"),
        hold_id: hold.id.clone(),
        payment_id: payment_id.into(),
        authorization: fresh_id("auth"),
        tickets,
        now_ms: now,
        login_link: None,
    }
}

/// Begins a payment for the hold and completes the order with tickets built from its lines.
pub async fn pay(store: &dyn Store, hold: &Hold, now: i64) -> StoreResult<Order> {
    let payment = payment_for(hold, now);
    store.begin_payment(payment.clone()).await?;
    store.complete_order(completion(hold, &payment.id, tickets_for(hold), now)).await
}

/// Holds `seats` and pays for them at [`T0`]: the quickest way to a sold ticket.
pub async fn buy_seats(store: &dyn Store, session: SessionId, seats: &[SeatId]) -> Order {
    let hold = hold_seats(store, session, seats, T0).await.expect("hold");
    pay(store, &hold, T0).await.expect("pay")
}

pub async fn availability_of(store: &dyn Store, session: SessionId, grade: GradeId) -> GradeAvailability {
    let all = store.availability(session).await.expect("availability");
    all.into_iter().find(|a| a.grade_id == grade).expect("grade offered in session")
}

/// Every seat of the session and its state.
pub async fn seat_states(store: &dyn Store, session: SessionId) -> BTreeMap<SeatId, SeatState> {
    store.seats(session).await.expect("seats").into_iter().map(|s| (s.id, s.state)).collect()
}

/// A well-formed scan of the ticket's current version, at a gate admitting its session,
/// inside a validity window of an hour either side of `now`.
pub fn scan(ticket: &Ticket, gate: GateId, now: i64) -> ScanRequest {
    ScanRequest {
        ticket_id: ticket.id,
        presented_version: ticket.version,
        presented_session: ticket.session_id,
        gate_id: gate,
        gate_session: ticket.session_id,
        gate_event: None,
        direction: admit_domain::Direction::Entry,
        valid_from_ms: now - super::fixtures::HOUR,
        valid_until_ms: now + super::fixtures::HOUR,
        now_ms: now,
        device_counter: None,
    }
}
