//! Catalogue: organisers, staff tokens, venues and gates, events with their sessions, grades,
//! seats, availability and keys.

use super::fixtures::{GA_PRICE, R_PRICE, VIP_PRICE, World, event_keys, host};
use admit_domain::{Currency, EntryPolicy, EventId, EventKind, GateId, Money, SeatingMode, SessionId};
use admit_store::{SeatState, StaffRole, Store, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;

pub async fn created_events_are_listed_with_their_venue(store: Arc<dyn Store>) {
    assert!(store.list_events().await.unwrap().is_empty());

    let first = World::builder().build(&*store).await;
    let second = World::builder().hosted_like(&first).build(&*store).await;

    let events = store.list_events().await.unwrap();
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), vec![first.event, second.event]);
    let e = &events[0];
    assert_eq!((e.organiser_id, e.venue_id), (first.organiser, first.venue.id));
    assert_eq!(e.venue_name, first.venue.name);
    assert_eq!((e.name.as_str(), e.kind, e.currency), ("Conformance Live", EventKind::Concert, Currency::KRW));
    assert_eq!(e.route, None);
}

pub async fn event_detail_has_sessions_and_priced_grades(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;

    let detail = store.event(w.event).await.unwrap();

    assert_eq!(detail.event.id, w.event);
    assert_eq!(detail.sessions.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(), ["Day 1", "Day 2"]);
    for s in &detail.sessions {
        assert_eq!(s.event_id, w.event);
        assert!(s.doors_at_ms < s.starts_at_ms && s.starts_at_ms < s.ends_at_ms);
        assert_eq!(store.session(s.id).await.unwrap(), *s);
    }
    let mut grades: Vec<_> =
        detail.grades.iter().map(|g| (g.code.as_str(), g.seating, g.price, g.policy, g.event_id)).collect();
    grades.sort_by_key(|g| std::cmp::Reverse(g.2.minor()));
    let krw = |minor| Money::new(minor, Currency::KRW).unwrap();
    let (single, double) = (EntryPolicy::SINGLE, EntryPolicy::entries(2));
    assert_eq!(
        grades,
        [
            ("VIP", SeatingMode::Reserved, krw(VIP_PRICE), single, w.event),
            ("R", SeatingMode::Reserved, krw(R_PRICE), single, w.event),
            ("GA", SeatingMode::GeneralAdmission, krw(GA_PRICE), double, w.event),
        ]
    );
}

pub async fn unknown_events_sessions_and_gates_are_not_found(store: Arc<dyn Store>) {
    let _w = World::builder().build(&*store).await;

    assert_err!(store.event(EventId(987_654)).await, StoreError::NotFound(_));
    assert_err!(store.session(SessionId(987_654)).await, StoreError::NotFound(_));
    assert_err!(store.availability(SessionId(987_654)).await, StoreError::NotFound(_));
    assert_err!(store.event_keys(EventId(987_654)).await, StoreError::NotFound(_));
    assert_err!(store.gate(GateId(987_654)).await, StoreError::NotFound(_));
    assert_err!(store.hold("no-such-hold").await, StoreError::NotFound(_));
}

pub async fn availability_counts_every_grade_of_each_session(store: Arc<dyn Store>) {
    let w = World::builder().vip(2, 6).r(3, 8).ga_quota(40).build(&*store).await;

    for session in w.sessions {
        let mut counts: Vec<_> = store
            .availability(session)
            .await
            .unwrap()
            .iter()
            .map(|a| (a.grade_id, a.total, a.held, a.sold, a.remaining()))
            .collect();
        counts.sort();
        let mut expected = vec![(w.vip.id, 12, 0, 0, 12), (w.r.id, 24, 0, 0, 24), (w.ga.id, 40, 0, 0, 40)];
        expected.sort();
        assert_eq!(counts, expected);
    }
}

pub async fn every_session_lists_its_own_free_copy_of_the_seats(store: Arc<dyn Store>) {
    let w = World::builder().vip(2, 3).r(1, 4).build(&*store).await;

    let day1 = store.seats(w.sessions[0]).await.unwrap();
    let day2 = store.seats(w.sessions[1]).await.unwrap();

    let labels = |seats: &[admit_store::Seat]| seats.iter().map(|s| s.label.clone()).collect::<Vec<_>>();
    let expected = ["A-1", "A-2", "A-3", "B-1", "B-2", "B-3", "C-1", "C-2", "C-3", "C-4"];
    assert_eq!(labels(&day1), expected, "best rows first, in seat order");
    assert_eq!(labels(&day2), expected);
    assert!(day1.iter().chain(&day2).all(|s| s.state == SeatState::Free));
    assert!(day1.iter().all(|s| s.session_id == w.sessions[0]) && day2.iter().all(|s| s.session_id == w.sessions[1]));
    let ids: BTreeSet<_> = day1.iter().chain(&day2).map(|s| s.id).collect();
    assert_eq!(ids.len(), 20, "each session has its own seat ids");
    let a2 = &day1[1];
    assert_eq!(
        (a2.grade_id, a2.section.as_str(), a2.row.as_str(), a2.row_rank, a2.number),
        (w.vip.id, "Floor", "A", 1, 2)
    );
    assert_eq!(day1[6].grade_id, w.r.id);
}

pub async fn event_keys_round_trip_and_public_keys_are_published(store: Arc<dyn Store>) {
    let first = World::builder().build(&*store).await;
    let second = World::builder().hosted_like(&first).build(&*store).await;

    assert_eq!(store.event_keys(first.event).await.unwrap(), first.keys);
    assert_eq!(store.event_keys(second.event).await.unwrap(), second.keys);
    let published: BTreeSet<_> = store.public_keys().await.unwrap().into_iter().collect();
    let expected: BTreeSet<_> = [&first, &second].iter().map(|w| (w.keys.key_id, w.keys.public_key)).collect();
    assert_eq!(published, expected);
}

pub async fn a_reused_key_id_is_a_conflict(store: Arc<dyn Store>) {
    let first = World::builder().build(&*store).await;
    let keys = admit_store::EventKeys { key_id: first.keys.key_id, ..event_keys() };
    let event = World::builder().new_event(first.organiser, &first.venue, keys);

    assert_err!(store.create_event(event).await, StoreError::Conflict(_));
    assert_eq!(store.list_events().await.unwrap().len(), 1);
}

pub async fn staff_are_found_by_token_hash_only(store: Arc<dyn Store>) {
    let (organiser, _) = host(&*store, "Busan Nights").await;
    store.add_staff_token(organiser, StaffRole::Admin, [1; 32], "box office").await.unwrap();
    store.add_staff_token(organiser, StaffRole::Gate, [2; 32], "north gate").await.unwrap();

    let admin = store.staff_by_token([1; 32]).await.unwrap().expect("admin token");
    let gate = store.staff_by_token([2; 32]).await.unwrap().expect("gate token");

    assert_eq!((admin.organiser_id, admin.role, admin.label.as_str()), (organiser, StaffRole::Admin, "box office"));
    assert_eq!((gate.organiser_id, gate.role, gate.label.as_str()), (organiser, StaffRole::Gate, "north gate"));
    assert_eq!(store.staff_by_token([3; 32]).await.unwrap(), None);
}

pub async fn a_staff_token_for_an_unknown_organiser_is_not_found_and_adds_nothing(store: Arc<dyn Store>) {
    let unknown = admit_domain::OrganiserId(987_654);

    let refused = store.add_staff_token(unknown, StaffRole::Admin, [9; 32], "nobody").await;

    assert!(matches!(refused, Err(StoreError::NotFound("organiser"))), "{refused:?}");
    assert!(store.staff_by_token([9; 32]).await.unwrap().is_none());
}

pub async fn a_gate_is_found_with_its_venue_and_organiser(store: Arc<dyn Store>) {
    let (mine, venue) = host(&*store, "Incheon Live").await;
    let (theirs, other_venue) = host(&*store, "Daegu Stage").await;

    assert_eq!(venue.gates.len(), 2);
    for g in &venue.gates {
        let found = store.gate(g.id).await.unwrap();
        assert_eq!(found, *g);
        assert_eq!((found.venue_id, found.organiser_id), (venue.id, mine));
    }
    assert_eq!(store.gate(other_venue.gates[1].id).await.unwrap().organiser_id, theirs);
    assert_eq!(store.gate(venue.gates[1].id).await.unwrap().name, "South");
}

pub async fn an_event_at_another_organisers_venue_is_refused(store: Arc<dyn Store>) {
    let (mine, _) = host(&*store, "Gwangju Arts").await;
    let (_, their_venue) = host(&*store, "Ulsan Arena").await;

    let event = World::builder().new_event(mine, &their_venue, event_keys());

    assert_err!(store.create_event(event).await, StoreError::Invalid(_));
    assert!(store.list_events().await.unwrap().is_empty());
}

pub async fn a_duplicate_seat_label_is_refused_and_nothing_is_created(store: Arc<dyn Store>) {
    let (organiser, venue) = host(&*store, "Jeonju Hall").await;
    let keys = event_keys();
    let mut event = World::builder().new_event(organiser, &venue, keys.clone());
    let mut twin = event.seats[0].clone();
    twin.number = 99;
    event.seats.push(twin);

    assert_err!(store.create_event(event).await, StoreError::Invalid(_));
    assert!(store.list_events().await.unwrap().is_empty());
    assert!(store.public_keys().await.unwrap().is_empty(), "the failed event's key was not kept");
}
