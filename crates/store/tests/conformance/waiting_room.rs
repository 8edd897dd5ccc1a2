//! The on-sale waiting room: early arrivals are drawn at opening, later ones queue in arrival
//! order, admission runs at the configured rate, and re-joining keeps one's place.

use super::fixtures::{T0, World};
use admit_domain::EventId;
use admit_domain::waiting_room::Standing;
use admit_store::{QueueEntry, QueueJoin, Store, StoreError, WaitingRoomConfig};
use std::collections::BTreeSet;
use std::sync::Arc;

const OPENS: i64 = T0 + 60_000;

fn config(per_minute: u32) -> WaitingRoomConfig {
    WaitingRoomConfig { opens_at_ms: OPENS, admit_per_minute: per_minute, pass_ttl_ms: 600_000 }
}

async fn join(store: &dyn Store, event: EventId, id: &str, lottery: i64, now_ms: i64) -> QueueEntry {
    store.queue_join(QueueJoin { event_id: event, entry_id: id.into(), lottery, now_ms }).await.expect("join")
}

pub async fn an_event_without_a_waiting_room_has_no_queue(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    assert_eq!(store.waiting_room(w.event).await.expect("read"), None);
    assert_err!(
        store.queue_join(QueueJoin { event_id: w.event, entry_id: "a".into(), lottery: 1, now_ms: T0 }).await,
        StoreError::NotFound("waiting room")
    );
    assert_err!(store.set_waiting_room(EventId(9_999), Some(config(60)), T0).await, StoreError::NotFound(_));
    assert_err!(
        store.set_waiting_room(w.event, Some(WaitingRoomConfig { admit_per_minute: 0, ..config(60) }), T0).await,
        StoreError::Invalid(_)
    );
    assert_eq!(store.waiting_room(w.event).await.expect("read"), None, "a refused configuration changes nothing");
}

pub async fn early_arrivals_are_drawn_in_lottery_order_at_opening(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    store.set_waiting_room(w.event, Some(config(60)), T0).await.expect("configure");
    // Arrival order a, b, c, d; lottery order c, a, d, b.
    for (id, lottery, at) in [("a", 20, T0), ("b", 40, T0 + 1), ("c", 10, T0 + 2), ("d", 30, T0 + 3)] {
        let entry = join(&*store, w.event, id, lottery, at).await;
        assert_eq!(entry.standing, Standing::Early, "{id} arrived before opening");
        assert_eq!(entry.seq, None);
    }
    let before = store.queue_entry(w.event, "a", OPENS - 1).await.expect("before opening");
    assert_eq!((before.standing, before.early_arrivals), (Standing::Early, 4));

    let late = join(&*store, w.event, "late", 0, OPENS + 10).await;
    assert_eq!(late.seq, Some(4), "after the draw, arrivals queue behind every early one");
    let mut seqs = Vec::new();
    for id in ["a", "b", "c", "d"] {
        seqs.push((store.queue_entry(w.event, id, OPENS + 10).await.expect("entry").seq, id));
    }
    seqs.sort();
    assert_eq!(seqs.iter().map(|(_, id)| *id).collect::<Vec<_>>(), ["c", "a", "d", "b"]);
    assert_eq!(seqs.iter().map(|(s, _)| s.expect("drawn")).collect::<Vec<_>>(), [0, 1, 2, 3]);
}

pub async fn buyers_are_admitted_in_order_at_the_configured_rate(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    store.set_waiting_room(w.event, Some(config(60)), T0).await.expect("configure"); // one a second
    for i in 0..10 {
        join(&*store, w.event, &format!("b{i}"), i, OPENS + i).await;
    }
    let at = |s: i64| OPENS + s * 1_000 + 500;
    let b0 = store.queue_entry(w.event, "b0", at(1)).await.expect("b0");
    assert_eq!(b0.standing, Standing::Admitted);
    assert_eq!(b0.admitted_at_ms, Some(at(1)));
    let b5 = store.queue_entry(w.event, "b5", at(1)).await.expect("b5");
    assert!(matches!(b5.standing, Standing::Waiting { position: 5, .. }), "{:?}", b5.standing);
    let b5 = store.queue_entry(w.event, "b5", at(6)).await.expect("b5 later");
    assert_eq!(b5.standing, Standing::Admitted);
    let b9 = store.queue_entry(w.event, "b9", at(6)).await.expect("b9");
    assert!(matches!(b9.standing, Standing::Waiting { position: 4, wait_ms: 4_000 }), "{:?}", b9.standing);
    // Once admitted, the moment is kept: a later look does not restart the pass.
    let b0 = store.queue_entry(w.event, "b0", at(9)).await.expect("b0 again");
    assert_eq!(b0.admitted_at_ms, Some(at(1)));
}

pub async fn joining_again_keeps_the_same_place(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    store.set_waiting_room(w.event, Some(config(60)), T0).await.expect("configure");
    for i in 0..5 {
        join(&*store, w.event, &format!("b{i}"), i, OPENS + 10 + i).await;
    }
    let first = join(&*store, w.event, "b3", 999, OPENS + 20).await;
    let again = join(&*store, w.event, "b3", 0, OPENS + 30).await;
    assert_eq!((first.seq, first.joined_at_ms), (again.seq, again.joined_at_ms));
    assert_eq!(store.waiting_room(w.event).await.expect("room").expect("on").admission.next_seq, 5);
    assert_err!(store.queue_entry(w.event, "nobody", OPENS).await, StoreError::NotFound(_));
}

pub async fn turning_the_waiting_room_off_forgets_the_queue(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    store.set_waiting_room(w.event, Some(config(60)), T0).await.expect("configure");
    join(&*store, w.event, "a", 1, T0).await;
    store.set_waiting_room(w.event, None, T0).await.expect("off");
    assert_eq!(store.waiting_room(w.event).await.expect("read"), None);
    store.set_waiting_room(w.event, Some(config(120)), T0).await.expect("on again");
    assert_err!(store.queue_entry(w.event, "a", T0).await, StoreError::NotFound(_));
}

pub async fn concurrent_joins_get_distinct_places(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    store.set_waiting_room(w.event, Some(config(60)), T0).await.expect("configure");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100i64 {
        let store = store.clone();
        let event = w.event;
        tasks.spawn(async move {
            let at = if i % 2 == 0 { T0 + i } else { OPENS + i };
            store
                .queue_join(QueueJoin {
                    event_id: event,
                    entry_id: format!("b{i}"),
                    lottery: i * 7919 % 101,
                    now_ms: at,
                })
                .await
                .expect("join")
        });
    }
    tasks.join_all().await;
    let mut seen = BTreeSet::new();
    for i in 0..100 {
        let e = store.queue_entry(w.event, &format!("b{i}"), OPENS + 200).await.expect("entry");
        assert!(seen.insert(e.seq.expect("drawn")), "place {:?} given twice", e.seq);
    }
    assert_eq!(seen, (0..100).collect::<BTreeSet<i64>>());
}
