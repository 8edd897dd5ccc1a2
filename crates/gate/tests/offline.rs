//! The terminal deciding with no server: what it synced is enough to refuse revoked, forged,
//! replayed and copied codes, and its own log is enough to refuse a second entry. Two
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
