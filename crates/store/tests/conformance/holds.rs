//! Holds: all-or-nothing claims of seats and units, best-available selection, cancelling and
//! expiry.

use super::fixtures::{GA_PRICE, T0, TTL, VIP_PRICE, World};
use super::support::{availability_of, hold_seats, hold_units, new_hold, pay, seat_states};
use admit_domain::{EntryPolicy, HoldState, MAX_TICKETS_PER_HOLD, SeatId, SeatPos, best_available};
use admit_store::{HoldRequest, NewHold, SeatState, Store, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;

pub async fn holding_explicit_seats_marks_them_held(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let wanted = [vip[0].id, vip[1].id];

    let hold = hold_seats(&*store, w.session(), &wanted, T0).await.unwrap();

    assert_eq!(
        (hold.state, hold.session_id, hold.event_id, hold.order_id.as_deref()),
        (HoldState::Active, w.session(), w.event, None)
    );
    assert_eq!((hold.created_at_ms, hold.expires_at_ms), (T0, T0 + TTL));
    assert_eq!(hold.total.minor(), 2 * VIP_PRICE);
    let lines: Vec<_> =
        hold.lines.iter().map(|l| (l.grade_id, l.seat.clone(), l.quantity, l.unit_price.minor())).collect();
    assert_eq!(lines, [0, 1].map(|i| (w.vip.id, Some((vip[i].id, vip[i].label.clone())), 1, VIP_PRICE)));
    assert_eq!(store.hold(&hold.id).await.unwrap(), hold);
    let states = seat_states(&*store, w.session()).await;
    assert_eq!(states.values().filter(|s| **s == SeatState::Held).count(), 2);
    assert!(wanted.iter().all(|s| states[s] == SeatState::Held));
    let a = availability_of(&*store, w.session(), w.vip.id).await;
    assert_eq!((a.held, a.sold, a.remaining()), (2, 0, a.total - 2));
    assert!(
        seat_states(&*store, w.sessions[1]).await.values().all(|s| *s == SeatState::Free),
        "other session untouched"
    );
}

/// What `create_hold` answers is exactly what reading the hold back gives: grade codes, seat
/// labels, entry policies and prices of every line, for each kind of request.
pub async fn a_new_hold_is_answered_exactly_as_it_reads_back(store: Arc<dyn Store>) {
    let pass_out = EntryPolicy { max_entries: 10, reentry: true, multi_day: false };
    let w = World::builder().ga_policy(pass_out).build(&*store).await;
    let (vip, r) = (w.seats_of(&*store, w.session(), w.vip.id).await, w.seats_of(&*store, w.session(), w.r.id).await);
    let requests = [
        HoldRequest::Units { grade: w.ga.id, quantity: 3 },
        HoldRequest::Seats(vec![r[2].id, vip[0].id, r[3].id]),
        HoldRequest::BestAvailable { grade: w.vip.id, quantity: 2, require_adjacent: true },
        HoldRequest::BestAvailable { grade: w.r.id, quantity: 3, require_adjacent: false },
    ];
    for request in requests {
        let answered = store.create_hold(new_hold(w.session(), request.clone(), T0)).await.unwrap();
        assert_eq!(store.hold(&answered.id).await.unwrap(), answered, "{request:?}");
    }
    let ga = hold_units(&*store, w.session(), w.ga.id, 1).await.unwrap();
    assert_eq!((ga.lines[0].grade_code.as_str(), ga.lines[0].policy), ("GA", pass_out));
    // The last seat of each grade: none of the holds above takes them.
    let mixed = hold_seats(&*store, w.session(), &[r[15].id, vip[11].id], T0).await.unwrap();
    let codes: Vec<_> = mixed.lines.iter().map(|l| (l.grade_code.as_str(), l.seat.as_ref().map(|s| s.0))).collect();
    assert_eq!(codes, [("R", Some(r[15].id)), ("VIP", Some(vip[11].id))], "lines keep the order asked for");
}

pub async fn a_hold_including_a_taken_seat_fails_and_changes_nothing(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let (free, taken) = (vip[0].id, vip[1].id);
    hold_seats(&*store, w.session(), &[taken], T0).await.unwrap();
    let before = (seat_states(&*store, w.session()).await, store.availability(w.session()).await.unwrap());

    assert_err!(hold_seats(&*store, w.session(), &[free, taken], T0).await, StoreError::SoldOut);
    assert_err!(hold_seats(&*store, w.session(), &[taken], T0).await, StoreError::SoldOut);

    let after = (seat_states(&*store, w.session()).await, store.availability(w.session()).await.unwrap());
    assert_eq!(after, before);
    assert_eq!(after.0[&free], SeatState::Free);
    hold_seats(&*store, w.session(), &[free], T0).await.expect("the free seat is still for sale");
}

pub async fn a_seat_of_another_session_is_invalid(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let day2 = w.seats_of(&*store, w.sessions[1], w.vip.id).await;

    assert_err!(hold_seats(&*store, w.session(), &[day2[0].id], T0).await, StoreError::Invalid(_));
    assert_err!(hold_seats(&*store, w.session(), &[SeatId(987_654)], T0).await, StoreError::Invalid(_));
    assert_eq!(availability_of(&*store, w.sessions[1], w.vip.id).await.held, 0);
}

pub async fn a_seat_listed_twice_is_invalid(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;

    assert_err!(hold_seats(&*store, w.session(), &[vip[0].id, vip[1].id, vip[0].id], T0).await, StoreError::Invalid(_));
    assert!(seat_states(&*store, w.session()).await.values().all(|s| *s == SeatState::Free));
}

pub async fn best_available_picks_adjacent_seats_in_the_best_row(store: Arc<dyn Store>) {
    let w = World::builder().vip(3, 6).build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let seat = |label: &str| vip.iter().find(|s| s.label == label).unwrap().id;
    // Row A keeps two runs of two: [A-1 A-2] and [A-5 A-6].
    hold_seats(&*store, w.session(), &[seat("A-3"), seat("A-4")], T0).await.unwrap();
    let best = |quantity| HoldRequest::BestAvailable { grade: w.vip.id, quantity, require_adjacent: true };

    let three = store.create_hold(new_hold(w.session(), best(3), T0)).await.unwrap();
    let two = store.create_hold(new_hold(w.session(), best(2), T0)).await.unwrap();

    let picked = |hold: &admit_store::Hold| -> Vec<(String, i32)> {
        let mut seats: Vec<_> = hold
            .lines
            .iter()
            .map(|l| vip.iter().find(|s| Some(s.id) == l.seat.as_ref().map(|x| x.0)).unwrap())
            .map(|s| (s.row.clone(), s.number))
            .collect();
        seats.sort();
        seats
    };
    let adjacent = |seats: &[(String, i32)]| seats.windows(2).all(|p| p[0].0 == p[1].0 && p[1].1 == p[0].1 + 1);
    let (three, two) = (picked(&three), picked(&two));
    assert!(adjacent(&three) && three.len() == 3 && three[0].0 == "B", "row A has no run of 3: {three:?}");
    assert!(adjacent(&two) && two.len() == 2 && two[0].0 == "A", "row A has runs of 2: {two:?}");
    assert_eq!(availability_of(&*store, w.session(), w.vip.id).await.held, 7);
}

pub async fn best_available_requiring_adjacency_without_a_run_is_sold_out(store: Arc<dyn Store>) {
    let w = World::builder().vip(2, 6).build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let seat = |label: &str| vip.iter().find(|s| s.label == label).unwrap().id;
    // Longest run left in either row: two seats.
    hold_seats(&*store, w.session(), &["A-3", "A-5", "B-3", "B-5"].map(seat), T0).await.unwrap();
    let before = seat_states(&*store, w.session()).await;
    let best = |require_adjacent| HoldRequest::BestAvailable { grade: w.vip.id, quantity: 3, require_adjacent };

    assert_err!(store.create_hold(new_hold(w.session(), best(true), T0)).await, StoreError::SoldOut);
    assert_eq!(seat_states(&*store, w.session()).await, before);
    assert_eq!(availability_of(&*store, w.session(), w.vip.id).await.held, 4);

    let scattered = store.create_hold(new_hold(w.session(), best(false), T0)).await.unwrap();
    assert_eq!(scattered.lines.len(), 3, "without the requirement, three separate seats are fine");
    assert_eq!(availability_of(&*store, w.session(), w.vip.id).await.held, 7);
}

pub async fn ga_units_are_held_within_the_quota_and_refused_beyond_it(store: Arc<dyn Store>) {
    let w = World::builder().ga_quota(5).build(&*store).await;

    let three = hold_units(&*store, w.session(), w.ga.id, 3).await.unwrap();
    assert_err!(hold_units(&*store, w.session(), w.ga.id, 3).await, StoreError::SoldOut);
    let a = availability_of(&*store, w.session(), w.ga.id).await;
    assert_eq!((a.total, a.held, a.sold, a.remaining()), (5, 3, 0, 2), "a refused request changes no counter");
    let two = hold_units(&*store, w.session(), w.ga.id, 2).await.unwrap();
    assert_err!(hold_units(&*store, w.session(), w.ga.id, 1).await, StoreError::SoldOut);

    let line = &three.lines[0];
    assert_eq!((three.lines.len(), line.grade_id, line.seat.clone(), line.quantity), (1, w.ga.id, None, 3));
    assert_eq!((three.total.minor(), two.total.minor()), (3 * GA_PRICE, 2 * GA_PRICE));
    let a = availability_of(&*store, w.session(), w.ga.id).await;
    assert_eq!((a.held, a.remaining()), (5, 0));
    assert_eq!(availability_of(&*store, w.sessions[1], w.ga.id).await.remaining(), 5, "quotas are per session");
}

pub async fn best_available_on_a_fragmented_grade_picks_what_the_domain_rule_picks(store: Arc<dyn Store>) {
    let w = World::builder().r(6, 9).build(&*store).await;
    let seats = w.seats_of(&*store, w.session(), w.r.id).await;
    // Fragment the grade: take a pseudo-random third of the seats, never whole rows.
    let taken: Vec<SeatId> =
        seats.iter().enumerate().filter(|(i, _)| (i * 7 + i / 9) % 3 == 0).map(|(_, s)| s.id).collect();
    for chunk in taken.chunks(MAX_TICKETS_PER_HOLD as usize) {
        hold_seats(&*store, w.session(), chunk, T0).await.unwrap();
    }

    for quantity in 1..=MAX_TICKETS_PER_HOLD.min(6) {
        for require_adjacent in [true, false] {
            let now = w.seats_of(&*store, w.session(), w.r.id).await;
            let positions: Vec<SeatPos> = now
                .iter()
                .map(|s| SeatPos {
                    id: s.id,
                    row_rank: s.row_rank,
                    row: s.row.clone(),
                    number: s.number,
                    free: s.state == SeatState::Free,
                })
                .collect();
            let expected = best_available(&positions, quantity as usize, require_adjacent).map(|p| p.seats);
            let request = HoldRequest::BestAvailable { grade: w.r.id, quantity, require_adjacent };

            let got = store.create_hold(new_hold(w.session(), request, T0)).await;

            match (got, expected) {
                (Ok(hold), Some(seats)) => {
                    let held: Vec<SeatId> = hold.lines.iter().filter_map(|l| l.seat.as_ref().map(|s| s.0)).collect();
                    assert_eq!(held, seats, "{quantity} seats, adjacent required: {require_adjacent}");
                    store.cancel_hold(&hold.id, T0).await.unwrap();
                }
                (Err(StoreError::SoldOut), None) => {}
                (got, expected) => panic!("{quantity} seats, adjacent {require_adjacent}: {got:?} vs {expected:?}"),
            }
        }
    }
}

pub async fn quantities_outside_one_to_the_maximum_are_invalid(store: Arc<dyn Store>) {
    let w = World::builder().vip(2, 8).ga_quota(50).build(&*store).await;
    let vip: Vec<SeatId> = w.seats_of(&*store, w.session(), w.vip.id).await.iter().map(|s| s.id).collect();
    let too_many = MAX_TICKETS_PER_HOLD + 1;
    let best = |quantity| HoldRequest::BestAvailable { grade: w.vip.id, quantity, require_adjacent: false };
    let units = |quantity| HoldRequest::Units { grade: w.ga.id, quantity };
    let requests = [
        best(0),
        best(too_many),
        units(0),
        units(too_many),
        HoldRequest::Seats(vec![]),
        HoldRequest::Seats(vip[..too_many as usize].to_vec()),
    ];

    for request in requests {
        let r = store.create_hold(new_hold(w.session(), request.clone(), T0)).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{request:?}: {r:?}");
    }

    assert!(store.availability(w.session()).await.unwrap().iter().all(|a| a.held == 0));
    let max = store.create_hold(new_hold(w.session(), units(MAX_TICKETS_PER_HOLD), T0)).await.unwrap();
    assert_eq!(max.lines[0].quantity, MAX_TICKETS_PER_HOLD);
}

pub async fn a_grade_must_be_held_in_its_own_seating_mode(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let other = World::builder().hosted_like(&w).build(&*store).await;
    let requests = [
        HoldRequest::BestAvailable { grade: w.ga.id, quantity: 1, require_adjacent: false },
        HoldRequest::Units { grade: w.vip.id, quantity: 1 },
        HoldRequest::Units { grade: other.ga.id, quantity: 1 },
        HoldRequest::BestAvailable { grade: other.vip.id, quantity: 1, require_adjacent: false },
    ];

    for request in requests {
        let r = store.create_hold(new_hold(w.session(), request.clone(), T0)).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{request:?}: {r:?}");
    }
    assert!(store.availability(w.session()).await.unwrap().iter().all(|a| a.held == 0));
}

pub async fn cancelling_releases_at_once_and_a_second_cancel_is_a_no_op(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let seats = hold_seats(&*store, w.session(), &[vip[0].id, vip[1].id], T0).await.unwrap();
    let units = hold_units(&*store, w.session(), w.ga.id, 4).await.unwrap();

    let cancelled = store.cancel_hold(&seats.id, T0 + 1).await.unwrap();
    store.cancel_hold(&units.id, T0 + 1).await.unwrap();

    assert_eq!(cancelled.state, HoldState::Released);
    assert!(seat_states(&*store, w.session()).await.values().all(|s| *s == SeatState::Free));
    assert!(store.availability(w.session()).await.unwrap().iter().all(|a| a.held == 0 && a.sold == 0));
    assert_eq!(store.cancel_hold(&seats.id, T0 + 2).await.unwrap().state, HoldState::Released);
    assert!(store.availability(w.session()).await.unwrap().iter().all(|a| a.held == 0), "no double release");
    assert_err!(store.cancel_hold("no-such-hold", T0).await, StoreError::NotFound(_));
    hold_seats(&*store, w.session(), &[vip[0].id, vip[1].id], T0 + 3).await.expect("seats are for sale again");
}

pub async fn cancelling_a_paid_hold_is_refused(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let hold = hold_seats(&*store, w.session(), &[vip[0].id], T0).await.unwrap();
    pay(&*store, &hold, T0 + 1).await.unwrap();

    assert_err!(store.cancel_hold(&hold.id, T0 + 2).await, StoreError::HoldNotActive(HoldState::Converted));

    assert_eq!(seat_states(&*store, w.session()).await[&vip[0].id], SeatState::Sold);
    assert_eq!(availability_of(&*store, w.session(), w.vip.id).await.sold, 1);
}

pub async fn expiry_releases_exactly_the_holds_that_are_due(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip: Vec<SeatId> = w.seats_of(&*store, w.session(), w.vip.id).await.iter().map(|s| s.id).collect();
    let session = w.session();
    let hold_until = |seat: SeatId, expires_at_ms: i64| {
        let store = store.clone();
        let hold = NewHold { expires_at_ms, ..new_hold(session, HoldRequest::Seats(vec![seat]), T0) };
        async move { store.create_hold(hold).await.unwrap() }
    };
    let early = hold_until(vip[0], T0 + 10).await;
    let on_time = hold_until(vip[1], T0 + 20).await;
    let late = hold_until(vip[2], T0 + 30).await;
    let cancelled = hold_until(vip[3], T0 + 5).await;
    store.cancel_hold(&cancelled.id, T0 + 1).await.unwrap();

    assert_eq!(store.expire_holds(T0 + 19).await.unwrap(), 1);
    assert_eq!(store.expire_holds(T0 + 20).await.unwrap(), 1, "a hold is due at its expiry instant");
    assert_eq!(store.expire_holds(T0 + 20).await.unwrap(), 0);

    let state = |id: String| {
        let store = store.clone();
        async move { store.hold(&id).await.unwrap().state }
    };
    assert_eq!(state(early.id).await, HoldState::Expired);
    assert_eq!(state(on_time.id).await, HoldState::Expired);
    assert_eq!(state(late.id).await, HoldState::Active);
    assert_eq!(state(cancelled.id).await, HoldState::Released);
    let seats = seat_states(&*store, w.session()).await;
    let held: BTreeSet<_> = seats.iter().filter(|(_, s)| **s == SeatState::Held).map(|(id, _)| *id).collect();
    assert_eq!(held, BTreeSet::from([vip[2]]));
    assert_eq!(availability_of(&*store, w.session(), w.vip.id).await.held, 1);
}

/// A hold's id names it for good: creating another hold with the same id (a retried request
/// whose hold is named after its idempotency key) is a conflict and claims nothing, for each
/// kind of request; the first hold is untouched.
pub async fn a_hold_id_already_taken_is_a_conflict_and_changes_nothing(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let first = store
        .create_hold(NewHold {
            id: "named-by-key".into(),
            ..new_hold(w.session(), HoldRequest::Seats(vec![vip[0].id]), T0)
        })
        .await
        .unwrap();
    let before = (seat_states(&*store, w.session()).await, store.availability(w.session()).await.unwrap());

    for request in [
        HoldRequest::Seats(vec![vip[1].id]),
        HoldRequest::BestAvailable { grade: w.vip.id, quantity: 2, require_adjacent: false },
        HoldRequest::Units { grade: w.ga.id, quantity: 2 },
    ] {
        let again = NewHold { id: "named-by-key".into(), ..new_hold(w.session(), request.clone(), T0 + 1) };
        assert_err!(store.create_hold(again).await, StoreError::Conflict(_));
    }

    let after = (seat_states(&*store, w.session()).await, store.availability(w.session()).await.unwrap());
    assert_eq!(after, before, "nothing claimed");
    assert_eq!(store.hold("named-by-key").await.unwrap(), first);
}
