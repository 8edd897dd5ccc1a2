//! The terminal deciding with no server: what it synced is enough to refuse revoked, forged,
//! replayed and copied codes (a phone code admits once: the server's last counter is synced, and
//! the terminal's own log remembers the ones it accepted), to tell a ticket of the organiser's
//! other venue from a forgery and a list out of date from a revoked version, and its own log is
//! enough to refuse a second entry. Two
//! terminals that both admitted one ticket offline are reported as exactly one conflict once
//! both have uploaded.

mod support;

use admit_credential::{Credential, DeviceAlgorithm, DeviceSigner, HolderBinding, Issuer, Payload};
use admit_domain::DenyReason;
use admit_gate::TerminalConfig;
use support::Venue;

fn now_s() -> u32 {
    (admit_gate::now_ms() / 1000) as u32
}

#[tokio::test]
async fn a_revoked_version_is_denied_offline_after_sync() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = venue.terminal(0, TerminalConfig::default()).await;

    let reissued = venue.reissue(&ticket, HolderBinding::None).await;
    terminal.refresh().await.expect("the terminal syncs the change");
    venue.stop_server_for_offline().await;

    let (_, old) = terminal.scan(&ticket.credential).await.unwrap();
    let (_, new) = terminal.scan(&reissued.to_text()).await.unwrap();

    assert_eq!(old.deny, Some(DenyReason::RevokedVersion), "{old:?}");
    assert!(!old.online);
    assert!(new.is_admit(), "the current version still enters: {new:?}");
}

#[tokio::test]
async fn a_forged_or_bit_flipped_credential_is_denied_with_the_right_reason() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    let genuine = Credential::from_text(&ticket.credential).unwrap();
    let payload: Payload = genuine.payload_unverified().unwrap();
    let forged = Issuer::generate(venue.keys.key_id).issue(payload.clone()).unwrap().to_text();
    let unknown_key = Issuer::generate(venue.keys.key_id ^ 1).issue(payload.clone()).unwrap().to_text();
    let mut bytes = genuine.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let flipped_signature = Credential::from_bytes(bytes.clone()).unwrap().to_text();
    bytes[last] ^= 0x01;
    bytes[10] ^= 0x40; // inside the ticket id
    let flipped_payload = Credential::from_bytes(bytes).unwrap().to_text();
    let other_version = format!("ADM7:{}", &ticket.credential["ADM1:".len()..]);

    for (code, reason) in [
        (forged.as_str(), DenyReason::BadSignature),
        (flipped_signature.as_str(), DenyReason::BadSignature),
        (flipped_payload.as_str(), DenyReason::BadSignature),
        (unknown_key.as_str(), DenyReason::UnknownKey),
        ("not a ticket", DenyReason::Malformed),
        (other_version.as_str(), DenyReason::UnsupportedVersion),
    ] {
        let (_, verdict) = terminal.scan(code).await.unwrap();
        assert_eq!(verdict.deny, Some(reason), "{code}: {verdict:?}");
        assert_eq!(verdict.admits, 0);
    }
    let (_, verdict) = terminal.scan(&ticket.credential).await.unwrap();
    assert!(verdict.is_admit(), "the genuine code still enters once: {verdict:?}");
}

/// A device-bound re-issue of `ticket` and the phone's key.
async fn bound(venue: &Venue, ticket: &support::Bought) -> (Credential, DeviceSigner) {
    let phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519);
    let credential = venue.reissue(ticket, phone.binding()).await;
    (credential, phone)
}

#[tokio::test]
async fn a_replayed_presentation_older_than_the_window_is_denied_offline() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let (credential, phone) = bound(&venue, &ticket).await;
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    venue.stop_server_for_offline().await;

    let screenshot = phone.present(credential.clone(), now_s() - 31).to_text();
    let bare = credential.to_text();
    let fresh = phone.present(credential, now_s()).to_text();

    assert_eq!(terminal.scan(&screenshot).await.unwrap().1.deny, Some(DenyReason::StaleProof));
    assert_eq!(terminal.scan(&bare).await.unwrap().1.deny, Some(DenyReason::DeviceProofMissing));
    let (_, admitted) = terminal.scan(&fresh).await.unwrap();
    assert!(admitted.is_admit(), "{admitted:?}");
}

#[tokio::test]
async fn a_presentation_signed_by_another_device_key_is_denied() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let (credential, _phone) = bound(&venue, &ticket).await;
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    let copy_on_another_phone = DeviceSigner::generate(DeviceAlgorithm::Ed25519).present(credential, now_s());

    let (_, verdict) = terminal.scan(&copy_on_another_phone.to_text()).await.unwrap();

    assert_eq!(verdict.deny, Some(DenyReason::BadDeviceSignature), "{verdict:?}");
}

#[tokio::test]
async fn the_local_log_refuses_a_second_entry_and_a_pass_admits_twice() {
    let venue = Venue::start().await;
    let single = venue.buy(venue.ga, 1).await.remove(0);
    let pass = venue.buy(venue.pass, 1).await.remove(0);
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    venue.stop_server_for_offline().await;

    let verdicts: Vec<_> = {
        let mut v = Vec::new();
        for code in [&single.credential, &single.credential, &pass.credential, &pass.credential, &pass.credential] {
            v.push(terminal.scan(code).await.unwrap().1);
        }
        v
    };

    let reasons: Vec<Option<DenyReason>> = verdicts.iter().map(|v| v.deny).collect();
    assert_eq!(reasons, [None, Some(DenyReason::AlreadyUsed), None, None, Some(DenyReason::AlreadyUsed)]);
    assert_eq!((verdicts[3].entries_used, verdicts[3].max_entries), (Some(2), Some(2)));
    assert_eq!(terminal.db().scan_counts().await.unwrap(), (5, 5), "all logged, none uploaded");
}

#[tokio::test]
async fn two_offline_gates_admitting_the_same_single_entry_ticket_make_exactly_one_conflict() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let north = venue.terminal(0, TerminalConfig::default()).await;
    let south = venue.terminal(1, TerminalConfig::default()).await;

    let (_, at_north) = north.scan(&ticket.credential).await.unwrap();
    let (_, at_south) = south.scan(&ticket.credential).await.unwrap();
    assert!(at_north.is_admit() && at_south.is_admit(), "offline, neither knows of the other");
    let (north_up, _) = north.refresh().await.unwrap();
    let (south_up, _) = south.refresh().await.unwrap();
    north.refresh().await.unwrap();
    south.refresh().await.unwrap();

    assert_eq!((north_up.uploaded, north_up.conflicts), (1, 0));
    assert_eq!((south_up.uploaded, south_up.conflicts), (1, 1));
    let conflicts = venue.conflicts().await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["reason"], "already_used");
    assert_eq!(conflicts[0]["uploaded"]["gate_id"], venue.gates[1].0);
    assert_eq!(conflicts[0]["counted"][0]["gate_id"], venue.gates[0].0);
    assert_eq!(conflicts[0]["counted"][0]["source"], "offline");
    assert_eq!(venue.store.ticket(admit_domain::TicketId(ticket.id)).await.unwrap().entries_used, 1);
    let (_, again) = south.scan(&ticket.credential).await.unwrap();
    assert_eq!(again.deny, Some(DenyReason::AlreadyUsed), "after the sync both gates know");
}

fn online() -> TerminalConfig {
    TerminalConfig { online: true, online_deadline: std::time::Duration::from_secs(10), ..TerminalConfig::default() }
}

#[tokio::test]
async fn the_same_phone_code_admits_once_offline_even_on_a_two_entry_pass() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.pass, 1).await.remove(0);
    let (credential, phone) = bound(&venue, &ticket).await;
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    venue.stop_server_for_offline().await;
    let code = phone.present(credential.clone(), now_s()).to_text();

    let (_, first) = terminal.scan(&code).await.unwrap();
    let (_, photo) = terminal.scan(&code).await.unwrap();
    let (_, older) = terminal.scan(&phone.present(credential.clone(), now_s() - 5).to_text()).await.unwrap();
    let (_, refreshed) = terminal.scan(&phone.present(credential, now_s() + 1).to_text()).await.unwrap();

    assert!(first.is_admit(), "{first:?}");
    assert_eq!((photo.deny, photo.admits), (Some(DenyReason::Replayed), 0), "{photo:?}");
    assert_eq!(older.deny, Some(DenyReason::Replayed), "{older:?}");
    assert!(refreshed.is_admit(), "a newer code is the holder's live page: {refreshed:?}");
    assert_eq!(refreshed.entries_used, Some(2));
}

#[tokio::test]
async fn a_phone_code_the_server_accepted_is_refused_offline_once_synced() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.pass, 1).await.remove(0);
    let (credential, phone) = bound(&venue, &ticket).await;
    let online_lane = venue.terminal(1, online()).await;
    let offline_lane = venue.terminal(0, TerminalConfig::default()).await;
    let code = phone.present(credential, now_s()).to_text();

    let (_, at_the_online_lane) = online_lane.scan(&code).await.unwrap();
    let (_, again_there) = online_lane.scan(&code).await.unwrap();
    offline_lane.refresh().await.expect("the sync carries the server's last counter");
    venue.stop_server_for_offline().await;
    let (_, photo_elsewhere) = offline_lane.scan(&code).await.unwrap();

    assert!(at_the_online_lane.is_admit() && at_the_online_lane.online, "{at_the_online_lane:?}");
    assert_eq!(again_there.deny, Some(DenyReason::Replayed), "{again_there:?}");
    assert_eq!((photo_elsewhere.deny, photo_elsewhere.online), (Some(DenyReason::Replayed), false));
}

#[tokio::test]
async fn one_phone_code_admitted_at_two_offline_gates_is_a_replayed_conflict_at_upload() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.pass, 1).await.remove(0);
    let (credential, phone) = bound(&venue, &ticket).await;
    let north = venue.terminal(0, TerminalConfig::default()).await;
    let south = venue.terminal(1, TerminalConfig::default()).await;
    let code = phone.present(credential, now_s()).to_text();

    let (_, at_north) = north.scan(&code).await.unwrap();
    let (_, at_south) = south.scan(&code).await.unwrap();
    assert!(at_north.is_admit() && at_south.is_admit(), "offline, neither knows of the other");
    let (north_up, _) = north.refresh().await.unwrap();
    let (south_up, _) = south.refresh().await.unwrap();

    assert_eq!((north_up.conflicts, south_up.conflicts), (0, 1));
    let conflicts = venue.conflicts().await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["reason"], "replayed", "a two-entry pass, but the same phone code");
    assert_eq!(venue.store.ticket(admit_domain::TicketId(ticket.id)).await.unwrap().entries_used, 1);
}

#[tokio::test]
async fn a_credential_newer_than_the_synced_list_says_the_list_is_out_of_date() {
    let venue = Venue::start().await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    let reissued = venue.reissue(&ticket, HolderBinding::None).await;
    venue.stop_server_for_offline().await;

    let (_, behind) = terminal.scan(&reissued.to_text()).await.unwrap();

    assert_eq!((behind.deny, behind.admits), (Some(DenyReason::ListOutOfDate), 0), "{behind:?}");
    assert!(DenyReason::ListOutOfDate.to_string().contains("sync"), "staff are told what to do");
    let (_, old) = terminal.scan(&ticket.credential).await.unwrap();
    assert!(old.is_admit(), "the list still says version 1 is current: {old:?}");
}

#[tokio::test]
async fn a_genuine_ticket_of_the_organisers_event_at_another_venue_is_wrong_event() {
    let venue = Venue::start().await;
    let elsewhere = Issuer::generate(venue.keys.key_id ^ 0x10);
    let other_session = event_at_another_venue(&venue, &elsewhere).await;
    let ticket = venue.buy(venue.ga, 1).await.remove(0);
    let terminal = venue.terminal(0, TerminalConfig::default()).await;
    venue.stop_server_for_offline().await;
    let payload = Credential::from_text(&ticket.credential).unwrap().payload_unverified().unwrap();
    let theirs = Payload { key_id: elsewhere.key_id(), session_id: other_session as u64, ..payload };

    let genuine = elsewhere.issue(theirs.clone()).unwrap().to_text();
    let forged = Issuer::generate(elsewhere.key_id()).issue(theirs).unwrap().to_text();
    let (_, wrong_event) = terminal.scan(&genuine).await.unwrap();
    let (_, forgery) = terminal.scan(&forged).await.unwrap();

    assert_eq!(wrong_event.deny, Some(DenyReason::WrongEvent), "{wrong_event:?}");
    assert_eq!(wrong_event.grade.as_deref(), Some("GA"), "a genuine ticket is shown: {wrong_event:?}");
    assert_eq!(forgery.deny, Some(DenyReason::BadSignature), "a forgery is not another event's ticket");
}

/// An event of the same organiser at a venue of its own, signed by `issuer`; its session's id.
async fn event_at_another_venue(venue: &Venue, issuer: &Issuer) -> i64 {
    use admit_domain::{Currency, EntryPolicy, EventKind, SeatingMode};
    use admit_store::{EventKeys, NewEvent, NewGate, NewGrade, NewSession, NewVenue};
    let store = &venue.store;
    let arena = store
        .create_venue(NewVenue {
            organiser_id: venue.organiser,
            name: "Other Arena".into(),
            city: "Busan".into(),
            latitude: 35.1,
            longitude: 129.0,
            gates: vec![NewGate { name: "Main".into(), latitude: 35.1, longitude: 129.0 }],
        })
        .await
        .unwrap();
    let now = admit_gate::now_ms();
    let event = store
        .create_event(NewEvent {
            organiser_id: venue.organiser,
            venue_id: arena.id,
            name: "Elsewhere".into(),
            kind: EventKind::Concert,
            description: String::new(),
            currency: Currency::KRW,
            route: None,
            grades: vec![NewGrade {
                code: "GA".into(),
                name: "GA".into(),
                seating: SeatingMode::GeneralAdmission,
                price_minor: 10_000,
                policy: EntryPolicy::SINGLE,
                quota: 10,
            }],
            sessions: vec![NewSession {
                label: "Tonight".into(),
                starts_at_ms: now + 3_600_000,
                ends_at_ms: now + 4 * 3_600_000,
                doors_at_ms: now,
            }],
            seats: vec![],
            keys: EventKeys {
                key_id: issuer.key_id(),
                signing_secret: issuer.secret_bytes(),
                public_key: issuer.public_key(),
                inspection_key: rand::random(),
            },
        })
        .await
        .unwrap();
    store.event(event).await.unwrap().sessions[0].id.0
}
