//! Device-bound credentials at the gate (DESIGN.md §5, issue 4), against the public API the
//! way gates and the server use it: `Scanned::parse` then `KeyRing::verify_scanned`.

use admit_credential::{
    DeviceAlgorithm, DeviceSigner, HolderBinding, Issuer, KeyRing, Payload, Presentation, ProofPolicy, Rejection,
    Scanned, Verified,
};
use proptest::prelude::*;

/// The gate's clock in these tests (unix seconds).
const NOW: i64 = 1_767_230_000;
const WINDOW: ProofPolicy = ProofPolicy { max_age_s: 30, max_future_s: 30 };

fn issuer() -> Issuer {
    Issuer::from_secret(11, &[0x42; 32])
}

fn gate_ring() -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert(11, &issuer().public_key()).unwrap();
    ring
}

fn payload(holder: HolderBinding) -> Payload {
    Payload {
        key_id: 11,
        ticket_id: 9_000_001,
        ticket_version: 3,
        session_id: 5,
        seat: "B-12".into(),
        grade: "R".into(),
        valid_from: 1_767_225_600,
        valid_until: 1_767_312_000,
        holder,
        reserved: vec![],
    }
}

fn phone() -> DeviceSigner {
    DeviceSigner::ed25519_from_secret(&[0x77; 32])
}

/// What the phone shows at device time `counter`.
fn shown_by(device: &DeviceSigner, counter: i64) -> String {
    let credential = issuer().issue(payload(device.binding())).unwrap();
    device.present(credential, u32::try_from(counter).unwrap()).to_text()
}

fn verdict(text: &str) -> Result<Verified, Rejection> {
    gate_ring().verify_scanned(&Scanned::parse(text)?, NOW, &WINDOW)
}

#[test]
fn a_fresh_presentation_by_the_bound_device_verifies_with_its_proof() {
    let verified = verdict(&shown_by(&phone(), NOW - 4)).unwrap();
    assert_eq!(verified, Verified { payload: payload(phone().binding()), device_proof: true });
    assert_eq!(
        gate_ring().verify_scanned_text(&shown_by(&phone(), NOW), NOW, &WINDOW).unwrap().payload.ticket_id,
        9_000_001
    );
}

#[test]
fn a_replayed_presentation_older_than_the_window_is_denied() {
    assert!(verdict(&shown_by(&phone(), NOW - 30)).is_ok(), "the window's edge still counts");
    assert_eq!(verdict(&shown_by(&phone(), NOW - 31)), Err(Rejection::StaleProof));
    assert_eq!(verdict(&shown_by(&phone(), NOW - 3600)), Err(Rejection::StaleProof));
    assert_eq!(Rejection::StaleProof.code(), "stale_proof");
}

#[test]
fn a_presentation_signed_too_far_in_the_future_is_denied() {
    assert!(verdict(&shown_by(&phone(), NOW + 30)).is_ok());
    assert_eq!(verdict(&shown_by(&phone(), NOW + 31)), Err(Rejection::StaleProof));
}

#[test]
fn the_window_comes_from_the_policy_the_gate_passes_in() {
    let text = shown_by(&phone(), NOW - 20);
    let strict = ProofPolicy { max_age_s: 10, max_future_s: 0 };
    assert_eq!(gate_ring().verify_scanned_text(&text, NOW, &strict), Err(Rejection::StaleProof));
    assert!(gate_ring().verify_scanned_text(&text, NOW, &ProofPolicy::default()).is_ok());
}

#[test]
fn a_presentation_signed_by_another_device_key_is_denied() {
    let credential = issuer().issue(payload(phone().binding())).unwrap();
    let thief = DeviceSigner::ed25519_from_secret(&[0x78; 32]);
    let copied = thief.present(credential, NOW as u32).to_text();
    assert_eq!(verdict(&copied), Err(Rejection::BadDeviceSignature));
    assert_eq!(Rejection::BadDeviceSignature.code(), "bad_device_signature");
}

#[test]
fn a_credential_naming_a_device_key_shown_without_a_proof_is_denied() {
    for device in [phone(), DeviceSigner::p256_from_secret(&[0x31; 32]).unwrap()] {
        let screenshot = issuer().issue(payload(device.binding())).unwrap().to_text();
        assert_eq!(verdict(&screenshot), Err(Rejection::DeviceProofMissing), "{:?}", device.algorithm());
    }
    assert_eq!(Rejection::DeviceProofMissing.code(), "device_proof_missing");
}

#[test]
fn a_static_credential_without_a_device_binding_verifies_without_a_proof() {
    for holder in [HolderBinding::None, HolderBinding::PhoneHash([4; 32])] {
        let printed = issuer().issue(payload(holder.clone())).unwrap().to_text();
        assert_eq!(verdict(&printed), Ok(Verified { payload: payload(holder), device_proof: false }));
    }
}

#[test]
fn a_presentation_over_an_unbound_credential_is_malformed() {
    for holder in [HolderBinding::None, HolderBinding::PhoneHash([4; 32])] {
        let credential = issuer().issue(payload(holder)).unwrap();
        let dressed_up = phone().present(credential, NOW as u32).to_text();
        assert_eq!(verdict(&dressed_up), Err(Rejection::Malformed));
    }
}

#[test]
fn a_p256_bound_presentation_verifies_like_an_ed25519_one() {
    let device = DeviceSigner::generate(DeviceAlgorithm::P256);
    assert!(matches!(device.binding(), HolderBinding::DeviceP256(_)));
    let verified = verdict(&shown_by(&device, NOW - 1)).unwrap();
    assert!(verified.device_proof);
    assert_eq!(verdict(&shown_by(&device, NOW - 31)), Err(Rejection::StaleProof));
    let credential = issuer().issue(payload(device.binding())).unwrap();
    let other = DeviceSigner::generate(DeviceAlgorithm::P256).present(credential, NOW as u32);
    assert_eq!(verdict(&other.to_text()), Err(Rejection::BadDeviceSignature));
}

#[test]
fn a_proof_made_for_an_earlier_ticket_version_does_not_carry_over_to_the_reissue() {
    let old = issuer().issue(payload(phone().binding())).unwrap();
    let reissued = issuer().issue(Payload { ticket_version: 4, ..payload(phone().binding()) }).unwrap();
    let old_proof = phone().present(old, NOW as u32);
    let spliced = Presentation { credential: reissued, ..old_proof };
    assert_eq!(verdict(&spliced.to_text()), Err(Rejection::BadDeviceSignature));
}

#[test]
fn a_forged_credential_inside_a_genuine_looking_presentation_is_bad_signature() {
    let forged = Issuer::from_secret(11, &[0x43; 32]).issue(payload(phone().binding())).unwrap();
    let presented = phone().present(forged, NOW as u32);
    assert_eq!(verdict(&presented.to_text()), Err(Rejection::BadSignature));
    let elsewhere = Issuer::from_secret(12, &[0x43; 32]).issue(payload(phone().binding())).unwrap();
    assert_eq!(verdict(&phone().present(elsewhere, NOW as u32).to_text()), Err(Rejection::UnknownKey));
}

#[test]
fn the_ed25519_convenience_signs_like_the_device_signer() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x77; 32]);
    let credential = issuer().issue(payload(phone().binding())).unwrap();
    let presentation = Presentation::sign_with_ed25519(credential.clone(), &key, NOW as u32);
    assert_eq!(presentation, phone().present(credential, NOW as u32));
    assert!(verdict(&presentation.to_text()).unwrap().device_proof);
}

/// The reasons a tampered presentation may get: never an admission, never "stale" (the device
/// signature is checked before the clock), never "proof missing".
fn is_an_expected_tamper_reason(outcome: &Result<Verified, Rejection>) -> bool {
    matches!(
        outcome,
        Err(Rejection::Malformed
            | Rejection::UnsupportedVersion
            | Rejection::UnknownKey
            | Rejection::BadSignature
            | Rejection::BadDeviceSignature)
    )
}

#[test]
fn flipping_any_bit_of_a_presentation_is_never_accepted() {
    for device in [phone(), DeviceSigner::p256_from_secret(&[0x31; 32]).unwrap()] {
        let credential = issuer().issue(payload(device.binding())).unwrap();
        let bytes = device.present(credential, NOW as u32).to_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut tampered = bytes.clone();
                tampered[i] ^= 1 << bit;
                let outcome = Presentation::from_bytes(&tampered)
                    .and_then(|p| gate_ring().verify_scanned(&Scanned::Presented(p), NOW, &WINDOW));
                assert!(is_an_expected_tamper_reason(&outcome), "flip at byte {i} bit {bit} gave {outcome:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_bit_flip_in_any_presentation_text_is_never_accepted(
        device_seed in any::<[u8; 32]>(),
        ticket_id in any::<u64>(),
        age in -30i64..=30,
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let device = DeviceSigner::ed25519_from_secret(&device_seed);
        let credential = issuer().issue(Payload { ticket_id, ..payload(device.binding()) }).unwrap();
        let genuine = device.present(credential, (NOW + age) as u32).to_bytes();
        prop_assert!(gate_ring().verify_scanned(&Scanned::Presented(Presentation::from_bytes(&genuine).unwrap()), NOW, &WINDOW).is_ok());
        let mut tampered = genuine;
        let i = at.index(tampered.len());
        tampered[i] ^= 1 << bit;
        let text = format!("ADP1:{}", base45::encode(&tampered));
        let outcome = gate_ring().verify_scanned_text(&text, NOW, &WINDOW);
        prop_assert!(is_an_expected_tamper_reason(&outcome), "flip at byte {} bit {} gave {:?}", i, bit, outcome);
    }
}
