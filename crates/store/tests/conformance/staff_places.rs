//! The gate page's choices: an organiser's venues with their gates, and its sessions in a
//! time window, never another organiser's.

use super::fixtures::{HOUR, T0, World};
use admit_store::{NewGate, NewVenue, SessionWindow, Store};
use std::sync::Arc;

/// Sessions not ended by `from` whose doors open before `until`.
fn window(from: i64, until: i64) -> SessionWindow {
    SessionWindow { ended_after_ms: from, doors_before_ms: until }
}

pub async fn staff_places_lists_every_venue_with_its_gates(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let annex = store
        .create_venue(NewVenue {
            organiser_id: w.organiser,
            name: "Annex".into(),
            city: "Busan".into(),
            latitude: 35.1,
            longitude: 129.0,
            gates: vec![NewGate { name: "Side door".into(), latitude: 35.1, longitude: 129.0 }],
        })
        .await
        .unwrap();

    let places = store.staff_places(w.organiser, window(T0, T0 + 100 * HOUR)).await.unwrap();

    assert_eq!(places.venues, vec![annex, w.venue.clone()], "by name, each with its own gates");
    assert_eq!(places.venues[1].gates.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["North", "South"]);
}

pub async fn staff_places_lists_sessions_in_the_window_soonest_first(store: Arc<dyn Store>) {
    // Day 1: doors T0+18h, 19h–22h; Day 2: doors T0+42h, 43h–46h.
    let w = World::builder().build(&*store).await;
    let detail = store.event(w.event).await.unwrap();
    let listed = |from: i64, until: i64| {
        let store = store.clone();
        async move {
            let places = store.staff_places(w.organiser, window(from, until)).await.unwrap();
            places.sessions.iter().map(|s| s.session.id).collect::<Vec<_>>()
        }
    };

    let both = store.staff_places(w.organiser, window(T0, T0 + 100 * HOUR)).await.unwrap().sessions;
    assert_eq!(both.iter().map(|s| &s.session).collect::<Vec<_>>(), detail.sessions.iter().collect::<Vec<_>>());
    for s in &both {
        assert_eq!((s.event_name.as_str(), s.venue_id), ("Conformance Live", w.venue.id));
    }
    assert_eq!(listed(T0, T0 + 30 * HOUR).await, [w.sessions[0]], "day 2's doors open after the window");
    assert_eq!(listed(T0 + 22 * HOUR, T0 + 100 * HOUR).await, [w.sessions[1]], "day 1 has ended");
    assert_eq!(listed(T0 + 21 * HOUR, T0 + 42 * HOUR).await, [w.sessions[0]], "running now; day 2 not yet open");
    assert!(listed(T0 + 46 * HOUR, T0 + 100 * HOUR).await.is_empty(), "everything has ended");
}

pub async fn staff_places_never_shows_another_organisers_venues_or_sessions(store: Arc<dyn Store>) {
    let ours = World::builder().build(&*store).await;
    let second = World::builder().hosted_like(&ours).build(&*store).await;
    let theirs = World::builder().build(&*store).await;
    let newcomer = store.create_organiser("No venues yet").await.unwrap();
    let all = window(T0, T0 + 100 * HOUR);

    let places = store.staff_places(ours.organiser, all).await.unwrap();
    let rival = store.staff_places(theirs.organiser, all).await.unwrap();
    let nothing = store.staff_places(newcomer, all).await.unwrap();

    assert_eq!(places.venues.iter().map(|v| v.id).collect::<Vec<_>>(), [ours.venue.id]);
    let mut sessions: Vec<_> = places.sessions.iter().map(|s| s.session.id).collect();
    sessions.sort();
    let mut expected = [ours.sessions, second.sessions].concat();
    expected.sort();
    assert_eq!(sessions, expected, "both events at our venue, none of theirs");
    assert_eq!(rival.venues, vec![theirs.venue.clone()]);
    assert_eq!(rival.sessions.iter().map(|s| s.session.id).collect::<Vec<_>>(), theirs.sessions);
    assert!(nothing.venues.is_empty() && nothing.sessions.is_empty());
}
