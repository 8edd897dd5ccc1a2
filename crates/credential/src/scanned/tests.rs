//! Telling the two scanned forms apart, and the freshness window's exact edges.

use super::*;
use crate::testing::sample_payload;
use crate::{DeviceSigner, Issuer};

fn credential() -> Credential {
    Issuer::from_secret(7, &[1; 32]).issue(sample_payload()).unwrap()
}

#[test]
fn adm1_text_is_a_static_credential_and_adp1_text_a_presentation() {
    let credential = credential();
    assert_eq!(Scanned::parse(&credential.to_text()), Ok(Scanned::Static(credential.clone())));
    let presentation = DeviceSigner::ed25519_from_secret(&[2; 32]).present(credential.clone(), 5);
    let scanned = Scanned::parse(&format!("{}\n", presentation.to_text())).unwrap();
    assert_eq!(scanned.credential(), &credential);
    assert_eq!(scanned, Scanned::Presented(presentation));
}

#[test]
fn unknown_versions_of_either_form_are_unsupported_and_the_rest_malformed() {
    let adm = credential().to_text();
    let adp = DeviceSigner::ed25519_from_secret(&[2; 32]).present(credential(), 5).to_text();
    assert_eq!(Scanned::parse(&adm.replacen("ADM1:", "ADM2:", 1)), Err(Rejection::UnsupportedVersion));
    assert_eq!(Scanned::parse(&adp.replacen("ADP1:", "ADP7:", 1)), Err(Rejection::UnsupportedVersion));
    for text in ["", "ADP1:", "ADP1:!!", "ADX1:ABC", "hello", &adp.replacen("ADP1:", "ADP1:ADP1:", 1)] {
        assert_eq!(Scanned::parse(text), Err(Rejection::Malformed), "{text}");
    }
}

#[test]
fn a_proof_is_fresh_exactly_within_the_window_edges() {
    let policy = ProofPolicy { max_age_s: 30, max_future_s: 10 };
    let now = 1_000_000;
    assert!(policy.is_fresh(1_000_000, now));
    assert!(policy.is_fresh(999_970, now));
    assert!(!policy.is_fresh(999_969, now));
    assert!(policy.is_fresh(1_000_010, now));
    assert!(!policy.is_fresh(1_000_011, now));
}

#[test]
fn the_default_policy_is_thirty_seconds_either_way_and_extreme_clocks_do_not_overflow() {
    assert_eq!(ProofPolicy::default(), ProofPolicy { max_age_s: 30, max_future_s: 30 });
    assert_eq!(ProofPolicy::symmetric(12), ProofPolicy { max_age_s: 12, max_future_s: 12 });
    let widest = ProofPolicy { max_age_s: u32::MAX, max_future_s: u32::MAX };
    assert!(widest.is_fresh(0, i64::from(u32::MAX)));
    assert!(widest.is_fresh(u32::MAX, 0));
    assert!(!widest.is_fresh(0, i64::MAX));
    assert!(!widest.is_fresh(u32::MAX, i64::MIN));
    assert!(!ProofPolicy::default().is_fresh(u32::MAX, i64::MIN));
    assert!(!ProofPolicy::default().is_fresh(0, i64::MAX));
}
