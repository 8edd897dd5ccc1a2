//! Gate terminals: enrolment and revocation, the incremental ticket feed a terminal syncs,
//! and reconciliation of scans uploaded after working offline — an admit takes an entry by the
//! online rules, an admit that finds no entry left is a conflict with both sides, never merged.

use super::fixtures::{HOUR, MINUTE, T0, World};
use super::support::{buy_seats, hold_units, pay, scan};
use admit_domain::{DenyReason, GateId, SessionId, TicketId, TicketStatus};
use admit_store::{
    GateDevice, GateDeviceId, GateVerdict, NewGateDevice, Store, StoreError, Ticket, TicketChangesQuery, TicketState,
    UploadOutcome, UploadedScan,
};
use std::sync::Arc;
use tokio::sync::Barrier;

const DOORS: i64 = T0 + HOUR;

async fn enrol(store: &dyn Store, gate: GateId, name: &str) -> GateDevice {
    let token_hash = rand::random();
    store.enrol_gate_device(NewGateDevice { gate_id: gate, name: name.into(), token_hash, now_ms: T0 }).await.unwrap()
}

/// One sold single-entry VIP ticket of the first session.
async fn one_ticket(store: &dyn Store) -> (World, Ticket) {
    let w = World::builder().build(store).await;
    let vip = w.seats_of(store, w.session(), w.vip.id).await;
    let order = buy_seats(store, w.session(), &[vip[0].id]).await;
    (w, order.tickets[0].clone())
}

/// An offline admit of `ticket` at `gate`, scan number `seq` on its device.
fn admit(ticket: &Ticket, gate: GateId, seq: i64, at: i64) -> UploadedScan {
    UploadedScan {
        seq,
        ticket_id: Some(ticket.id),
        ticket_version: Some(ticket.version),
        session_id: Some(ticket.session_id),
        event_id: None,
        direction: admit_domain::Direction::Entry,
        gate_id: gate,
        verdict: GateVerdict::Admit,
        scanned_at_ms: at,
        latitude: Some(37.51),
        longitude: Some(127.0),
        device_counter: None,
    }
}

fn feed(sessions: &[SessionId], since: u64, after: Option<TicketId>, limit: u32) -> TicketChangesQuery {
    TicketChangesQuery { sessions: sessions.to_vec(), since, after, limit }
}

/// The whole feed from `since`, page by page; returns the rows and the first page's watermark.
async fn read_feed(store: &dyn Store, sessions: &[SessionId], since: u64, limit: u32) -> (Vec<TicketState>, u64) {
    let first = store.ticket_changes(feed(sessions, since, None, limit)).await.unwrap();
    let (watermark, total) = (first.watermark, first.total.expect("the first page counts the feed"));
    let (mut rows, mut more) = (first.tickets, first.more);
    while more {
        let page = store.ticket_changes(feed(sessions, since, rows.last().map(|t| t.id), limit)).await.unwrap();
        assert_eq!(page.total, None, "only the first page counts");
        assert!(page.tickets.len() <= limit as usize);
        more = page.more;
        rows.extend(page.tickets);
    }
    assert_eq!(rows.len() as u64, total, "the count matches the pages");
    (rows, watermark)
}

pub async fn a_device_is_enrolled_found_by_its_token_and_revoked(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let hash = [7u8; 32];
    let device = store
        .enrol_gate_device(NewGateDevice { gate_id: w.gate(1), name: "South 1".into(), token_hash: hash, now_ms: T0 })
        .await
        .unwrap();

    assert_eq!((device.gate.id, device.gate.venue_id, device.gate.organiser_id), (w.gate(1), w.venue.id, w.organiser));
    assert_eq!((device.name.as_str(), device.created_at_ms, device.revoked_at_ms), ("South 1", T0, None));
    assert_eq!(store.gate_device_by_token(hash).await.unwrap(), Some(device.clone()));
    assert_eq!(store.gate_device_by_token([8u8; 32]).await.unwrap(), None);
    assert_eq!(store.gate_device(device.id).await.unwrap(), device);

    let revoked = store.revoke_gate_device(device.id, T0 + 5).await.unwrap();
    let again = store.revoke_gate_device(device.id, T0 + 9).await.unwrap();

    assert_eq!((revoked.revoked_at_ms, again.revoked_at_ms), (Some(T0 + 5), Some(T0 + 5)));
    assert_eq!(store.gate_device_by_token(hash).await.unwrap().unwrap().revoked_at_ms, Some(T0 + 5));
}

pub async fn enrolling_at_an_unknown_gate_or_revoking_an_unknown_device_is_not_found(store: Arc<dyn Store>) {
    let new = NewGateDevice { gate_id: GateId(987_654), name: "x".into(), token_hash: [1; 32], now_ms: T0 };
    assert_err!(store.enrol_gate_device(new).await, StoreError::NotFound(_));
    assert_err!(store.revoke_gate_device(GateDeviceId(987_654), T0).await, StoreError::NotFound(_));
    assert_err!(store.gate_device(GateDeviceId(987_654)).await, StoreError::NotFound(_));
}

pub async fn venue_sessions_are_those_at_the_venue_not_ended_before_the_cut_off(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let other = World::builder().build(&*store).await;
    let second_here = World::builder().hosted_like(&w).build(&*store).await;

    let all = store.venue_sessions(w.venue.id, 0).await.unwrap();
    let ids: Vec<SessionId> = all.iter().map(|s| s.id).collect();
    let mut expected = vec![w.sessions[0], w.sessions[1], second_here.sessions[0], second_here.sessions[1]];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(!ids.contains(&other.sessions[0]));

    // Day 1 ends at T0 + 22 h; day 2 at T0 + 46 h.
    let later = store.venue_sessions(w.venue.id, T0 + 23 * HOUR).await.unwrap();
    assert_eq!(later.iter().map(|s| s.id).collect::<Vec<_>>(), vec![w.sessions[1], second_here.sessions[1]]);
}

pub async fn the_ticket_feed_pages_in_id_order_and_then_sends_every_change(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let seated = buy_seats(&*store, w.session(), &[vip[0].id, vip[1].id, vip[2].id]).await;
    let standing = pay(&*store, &hold_units(&*store, w.session(), w.ga.id, 2).await.unwrap(), T0).await.unwrap();
    let day2 = buy_seats(&*store, w.sessions[1], &[w.seats_of(&*store, w.sessions[1], w.vip.id).await[0].id]).await;

    let (rows, watermark) = read_feed(&*store, &[w.session()], 0, 2).await;

    let mut expected: Vec<TicketState> = seated
        .tickets
        .iter()
        .chain(&standing.tickets)
        .map(|t| TicketState {
            id: t.id,
            session_id: t.session_id,
            version: t.version,
            status: TicketStatus::Valid,
            entries_used: 0,
            max_entries: t.max_entries,
            policy: t.policy,
            inside: false,
            session_entries: Default::default(),
            last_counter: None,
        })
        .collect();
    expected.sort_by_key(|t| t.id);
    assert_eq!(rows, expected, "every ticket of the session once, in id order");
    assert!(rows.iter().all(|t| t.id != day2.tickets[0].id), "not another session's");

    // Later reads send at least every change since the watermark. A row may be sent again (on
    // PostgreSQL while other transactions were running at the watermark), always as it is now.
    let (again, same) = read_feed(&*store, &[w.session()], watermark, 2).await;
    assert!(again.iter().all(|t| expected.contains(t)), "re-sent rows are current: {again:?}");
    assert!(same >= watermark, "the watermark never goes back");

    store.check_in(scan(&seated.tickets[1], w.gate(0), DOORS)).await.unwrap();
    let (changed, after_scan) = read_feed(&*store, &[w.session()], watermark, 2).await;
    let scanned = changed.iter().find(|t| t.id == seated.tickets[1].id).expect("the change is sent");
    assert_eq!(scanned.entries_used, 1);
    assert!(changed.iter().all(|t| t.id == scanned.id || expected.contains(t)), "{changed:?}");
    assert!(after_scan >= watermark);
    let (after, _) = read_feed(&*store, &[w.session()], after_scan, 2).await;
    assert!(after.iter().all(|t| t.id != scanned.id || t.entries_used == 1), "{after:?}");

    let (both, _) = read_feed(&*store, &[w.session(), w.sessions[1]], 0, 100).await;
    assert_eq!(both.len(), 6);
    let none = store.ticket_changes(feed(&[], 0, None, 10)).await.unwrap();
    assert_eq!((none.tickets.len(), none.more), (0, false));

    // A ticket sold after a read comes with the next read from its watermark.
    let (_, before_sale) = read_feed(&*store, &[w.session()], after_scan, 100).await;
    let late = pay(&*store, &hold_units(&*store, w.session(), w.ga.id, 1).await.unwrap(), T0).await.unwrap();
    let (sold, _) = read_feed(&*store, &[w.session()], before_sale, 100).await;
    assert!(sold.iter().any(|t| t.id == late.tickets[0].id), "the new ticket is sent: {sold:?}");
}

pub async fn an_uploaded_admit_takes_an_entry_and_a_repeat_upload_answers_the_same(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let device = enrol(&*store, w.gate(0), "North 1").await;
    let scans = vec![admit(&ticket, w.gate(0), 1, DOORS)];

    let first = store.upload_gate_scans(device.id, scans.clone(), DOORS + MINUTE).await.unwrap();
    let repeat = store.upload_gate_scans(device.id, scans, DOORS + 2 * MINUTE).await.unwrap();

    assert_eq!(first.len(), 1);
    assert_eq!((first[0].seq, first[0].outcome), (1, UploadOutcome::Counted));
    assert_eq!((first[0].entries_used, first[0].max_entries), (Some(1), Some(1)));
    assert_eq!(repeat, first, "a repeated upload is answered the same and counts nothing more");
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 1);
    assert!(store.conflicts(w.session()).await.unwrap().is_empty());
    assert_err!(store.check_in(scan(&ticket, w.gate(1), DOORS + 1)).await, StoreError::Denied(DenyReason::AlreadyUsed));
}

pub async fn two_offline_gates_admitting_one_single_entry_ticket_make_exactly_one_conflict(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let (north, south) = (enrol(&*store, w.gate(0), "North 1").await, enrol(&*store, w.gate(1), "South 1").await);

    let a = store.upload_gate_scans(north.id, vec![admit(&ticket, w.gate(0), 1, DOORS)], DOORS + 10).await.unwrap();
    let b = store.upload_gate_scans(south.id, vec![admit(&ticket, w.gate(1), 1, DOORS + 5)], DOORS + 20).await.unwrap();
    // Both terminals upload again after a lost answer: still one conflict.
    store.upload_gate_scans(north.id, vec![admit(&ticket, w.gate(0), 1, DOORS)], DOORS + 30).await.unwrap();
    store.upload_gate_scans(south.id, vec![admit(&ticket, w.gate(1), 1, DOORS + 5)], DOORS + 40).await.unwrap();

    assert_eq!(a[0].outcome, UploadOutcome::Counted);
    assert_eq!(b[0].outcome, UploadOutcome::Conflict(DenyReason::AlreadyUsed));
    assert_eq!(b[0].entries_used, Some(1));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 1, "never merged into a second entry");
    let conflicts = store.conflicts(w.session()).await.unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(
        (c.ticket_id, c.reference.as_deref(), c.reason),
        (Some(ticket.id), Some(&*ticket.reference), DenyReason::AlreadyUsed)
    );
    assert_eq!((c.uploaded.gate_id, c.uploaded.device_id, c.uploaded.at_ms), (w.gate(1), Some(south.id), DOORS + 5));
    assert_eq!((c.device_seq, c.received_at_ms, c.uploaded.device_name.as_deref()), (1, DOORS + 20, Some("South 1")));
    assert_eq!(c.counted.len(), 1);
    let other = &c.counted[0];
    assert_eq!((other.gate_id, other.device_id, other.at_ms), (w.gate(0), Some(north.id), DOORS));
    assert_eq!(other.device_name.as_deref(), Some("North 1"));
}

pub async fn an_uploaded_admit_after_an_online_admit_is_a_conflict_showing_the_online_side(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let device = enrol(&*store, w.gate(1), "South 1").await;
    store.check_in(scan(&ticket, w.gate(0), DOORS)).await.unwrap();

    let result = store.upload_gate_scans(device.id, vec![admit(&ticket, w.gate(1), 7, DOORS - 60)], DOORS + 1).await;

    assert_eq!(result.unwrap()[0].outcome, UploadOutcome::Conflict(DenyReason::AlreadyUsed));
    let conflicts = store.conflicts(w.session()).await.unwrap();
    assert_eq!(conflicts.len(), 1);
    let online = &conflicts[0].counted;
    assert_eq!(online.len(), 1);
    assert_eq!((online[0].gate_id, online[0].device_id, online[0].at_ms), (w.gate(0), None, DOORS));
}

pub async fn uploaded_admits_the_online_check_would_refuse_are_conflicts_with_its_reason(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let device = enrol(&*store, w.gate(0), "North 1").await;
    let old_version = UploadedScan { ticket_version: Some(ticket.version + 1), ..admit(&ticket, w.gate(0), 1, DOORS) };
    let other_session = UploadedScan { session_id: Some(w.sessions[1]), ..admit(&ticket, w.gate(0), 2, DOORS) };
    let unknown = UploadedScan { ticket_id: Some(TicketId(ticket.id.0 ^ 1)), ..admit(&ticket, w.gate(0), 3, DOORS) };

    let results = store.upload_gate_scans(device.id, vec![old_version, other_session, unknown], DOORS).await.unwrap();

    let outcomes: Vec<UploadOutcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            UploadOutcome::Conflict(DenyReason::RevokedVersion),
            UploadOutcome::Conflict(DenyReason::WrongSession),
            UploadOutcome::Conflict(DenyReason::UnknownTicket),
        ]
    );
    assert_eq!(results[2].entries_used, None, "an unknown ticket has no count");
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 0, "nothing counted");
    let reasons: Vec<DenyReason> = store.conflicts(w.session()).await.unwrap().iter().map(|c| c.reason).collect();
    assert_eq!(reasons, [DenyReason::RevokedVersion, DenyReason::UnknownTicket], "session 1's conflicts");
    assert_eq!(store.conflicts(w.sessions[1]).await.unwrap()[0].reason, DenyReason::WrongSession);
}

pub async fn uploaded_denials_are_recorded_and_a_multi_entry_ticket_counts_each_admit(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let ticket = pay(&*store, &hold_units(&*store, w.session(), w.ga.id, 1).await.unwrap(), T0).await.unwrap().tickets
        [0]
    .clone();
    let device = enrol(&*store, w.gate(0), "North 1").await;
    let denied = UploadedScan {
        ticket_id: None,
        ticket_version: None,
        session_id: None,
        verdict: GateVerdict::Deny(DenyReason::Malformed),
        ..admit(&ticket, w.gate(0), 2, DOORS + 1)
    };
    let scans = vec![
        admit(&ticket, w.gate(0), 1, DOORS),
        denied,
        admit(&ticket, w.gate(0), 3, DOORS + 2),
        admit(&ticket, w.gate(0), 4, DOORS + 3),
    ];

    let results = store.upload_gate_scans(device.id, scans, DOORS + 10).await.unwrap();

    let outcomes: Vec<UploadOutcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            UploadOutcome::Counted,
            UploadOutcome::Recorded,
            UploadOutcome::Counted,
            UploadOutcome::Conflict(DenyReason::AlreadyUsed)
        ]
    );
    assert_eq!(results[2].entries_used, Some(2));
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 2);
}

pub async fn a_bad_upload_is_refused_whole_and_changes_nothing(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let device = enrol(&*store, w.gate(0), "North 1").await;
    let good = admit(&ticket, w.gate(0), 1, DOORS);
    let nameless = UploadedScan { ticket_version: None, ..admit(&ticket, w.gate(0), 2, DOORS) };

    for bad in [
        vec![good.clone(), good.clone()],
        vec![good.clone(), nameless],
        vec![UploadedScan { seq: -1, ..good.clone() }],
        vec![good.clone(); 1_001].into_iter().enumerate().map(|(i, s)| UploadedScan { seq: i as i64, ..s }).collect(),
    ] {
        assert_err!(store.upload_gate_scans(device.id, bad, DOORS).await, StoreError::Invalid(_));
    }

    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 0);
    assert_eq!(store.upload_gate_scans(device.id, vec![good], DOORS).await.unwrap()[0].outcome, UploadOutcome::Counted);
}

pub async fn entries_are_counted_per_gate_and_time_bucket(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let vip = w.seats_of(&*store, w.session(), w.vip.id).await;
    let order = buy_seats(&*store, w.session(), &[vip[0].id, vip[1].id, vip[2].id]).await;
    let t = &order.tickets;
    let (north, south) = (enrol(&*store, w.gate(0), "North 1").await, enrol(&*store, w.gate(1), "South 1").await);
    let bucket = 10 * MINUTE;
    store.check_in(scan(&t[0], w.gate(0), DOORS + MINUTE)).await.unwrap();
    store.upload_gate_scans(north.id, vec![admit(&t[1], w.gate(0), 1, DOORS + 2 * MINUTE)], DOORS).await.unwrap();
    store.upload_gate_scans(south.id, vec![admit(&t[2], w.gate(1), 1, DOORS + 12 * MINUTE)], DOORS).await.unwrap();
    store.upload_gate_scans(south.id, vec![admit(&t[0], w.gate(1), 2, DOORS + 13 * MINUTE)], DOORS).await.unwrap();

    let entries = store.entries(w.session(), bucket).await.unwrap();

    let rows: Vec<(i64, GateId, u64, u64, u64)> =
        entries.iter().map(|e| (e.bucket_start_ms, e.gate_id, e.online, e.uploaded, e.conflicts)).collect();
    let start = DOORS / bucket * bucket;
    assert_eq!(rows, vec![(start, w.gate(0), 1, 1, 0), (start + bucket, w.gate(1), 0, 1, 1)]);
    assert!(store.entries(w.sessions[1], bucket).await.unwrap().is_empty());
    assert_err!(store.entries(w.session(), 0).await, StoreError::Invalid(_));
}

pub async fn sixteen_devices_uploading_one_ticket_at_once_count_it_once(store: Arc<dyn Store>) {
    let (w, ticket) = one_ticket(&*store).await;
    let mut devices = Vec::new();
    for i in 0..16 {
        devices.push(enrol(&*store, w.gate(i % 2), &format!("Gate device {i}")).await);
    }
    let barrier = Arc::new(Barrier::new(devices.len()));

    let mut tasks = tokio::task::JoinSet::new();
    for (i, device) in devices.iter().enumerate() {
        let (store, barrier, id) = (store.clone(), barrier.clone(), device.id);
        let scans = vec![admit(&ticket, w.gate(i % 2), 1, DOORS + i as i64)];
        tasks.spawn(async move {
            barrier.wait().await;
            store.upload_gate_scans(id, scans, DOORS + 100).await
        });
    }
    let mut outcomes = Vec::new();
    while let Some(result) = tasks.join_next().await {
        outcomes.push(result.unwrap().unwrap()[0].outcome);
    }

    let counted = outcomes.iter().filter(|o| **o == UploadOutcome::Counted).count();
    assert_eq!(counted, 1, "{outcomes:?}");
    assert_eq!(store.conflicts(w.session()).await.unwrap().len(), 15);
    assert_eq!(store.ticket(ticket.id).await.unwrap().entries_used, 1);
}
