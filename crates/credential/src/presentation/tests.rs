//! Presentation codec: layout, text round trips, strictness and limits.

use super::*;
use crate::testing::sample_payload;
use crate::text::is_qr_alphanumeric;
use crate::{DeviceSigner, HolderBinding, Issuer, Payload};
use proptest::prelude::*;

fn sample() -> Presentation {
    let device = DeviceSigner::ed25519_from_secret(&[8; 32]);
    let bound = Payload { holder: device.binding(), ..sample_payload() };
    device.present(Issuer::from_secret(7, &[1; 32]).issue(bound).unwrap(), 1_767_230_000)
}

#[test]
fn the_binary_form_is_length_credential_counter_signature() {
    let presentation = sample();
    let bytes = presentation.to_bytes();
    let credential = presentation.credential.as_bytes();
    assert_eq!(bytes.len(), 2 + credential.len() + 4 + 64);
    assert_eq!(&bytes[..2], &(credential.len() as u16).to_be_bytes());
    assert_eq!(&bytes[2..2 + credential.len()], credential);
    assert_eq!(&bytes[2 + credential.len()..][..4], &1_767_230_000u32.to_be_bytes());
    assert_eq!(&bytes[bytes.len() - 64..], &presentation.device_signature);
}

#[test]
fn text_is_prefixed_qr_alphanumeric_and_round_trips_through_scanner_line_endings() {
    let presentation = sample();
    let text = presentation.to_text();
    assert!(text.starts_with("ADP1:"));
    assert!(text.chars().all(is_qr_alphanumeric), "{text}");
    assert_eq!(Presentation::from_text(&format!(" {text}\r\n")), Ok(presentation));
}

#[test]
fn trailing_truncated_or_mis_sized_bytes_are_malformed() {
    let bytes = sample().to_bytes();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(Presentation::from_bytes(&trailing), Err(Rejection::Malformed));
    assert_eq!(Presentation::from_bytes(&bytes[..bytes.len() - 1]), Err(Rejection::Malformed));
    assert_eq!(Presentation::from_bytes(&bytes[..1]), Err(Rejection::Malformed));
    assert_eq!(Presentation::from_bytes(&[]), Err(Rejection::Malformed));
    let mut longer_claim = bytes.clone();
    longer_claim[1] += 1;
    assert_eq!(Presentation::from_bytes(&longer_claim), Err(Rejection::Malformed));
}

#[test]
fn a_credential_of_implausible_length_inside_is_malformed() {
    let mut tiny = vec![0, 64];
    tiny.extend_from_slice(&[1; 64 + 4 + 64]);
    assert_eq!(Presentation::from_bytes(&tiny), Err(Rejection::Malformed), "credential of only a signature");
    let too_long = MAX_CREDENTIAL_LEN + 1;
    let mut big = (too_long as u16).to_be_bytes().to_vec();
    big.extend(std::iter::repeat_n(1, too_long + 4 + 64));
    assert_eq!(Presentation::from_bytes(&big), Err(Rejection::Malformed));
}

#[test]
fn another_presentation_version_is_unsupported_and_other_prefixes_are_malformed() {
    let text = sample().to_text();
    let body = &text[PRESENTATION_PREFIX.len()..];
    assert_eq!(Presentation::from_text(&format!("ADP2:{body}")), Err(Rejection::UnsupportedVersion));
    for wrong in [format!("adp1:{body}"), format!("ADM1:{body}"), body.to_string(), String::new()] {
        assert_eq!(Presentation::from_text(&wrong), Err(Rejection::Malformed), "{wrong}");
    }
}

#[test]
fn non_canonical_or_invalid_base45_is_malformed() {
    // An odd number of bytes ending in 0x4A: base45 writes the last byte as "T1", while a
    // lenient decoder would also take the over-long "ZZ" (1610 mod 256 = 0x4A) for it.
    let mut device_signature = [1; 64];
    device_signature[63] = 0x4A;
    let odd = Presentation { credential: Credential::from_bytes(vec![1; 101]).unwrap(), counter: 9, device_signature };
    let text = odd.to_text();
    assert!(text.ends_with("T1"), "{text}");
    assert_eq!(Presentation::from_text(&text), Ok(odd));
    let respelled = format!("{}ZZ", &text[..text.len() - 2]);
    assert_eq!(Presentation::from_text(&respelled), Err(Rejection::Malformed));

    let text = sample().to_text();
    assert_eq!(Presentation::from_text(&format!("{text}a")), Err(Rejection::Malformed));
    assert_eq!(Presentation::from_text(&text.to_lowercase().replacen("adp1:", "ADP1:", 1)), Err(Rejection::Malformed));
}

#[test]
fn an_oversized_text_is_refused_before_decoding() {
    let text = format!("{PRESENTATION_PREFIX}{}", "0".repeat(max_body_len(MAX_PRESENTATION_LEN) + 3));
    assert_eq!(Presentation::from_text(&text), Err(Rejection::Malformed));
}

#[test]
fn the_largest_presentation_fits_and_round_trips() {
    let largest = Presentation {
        credential: Credential::from_bytes(vec![0xAB; MAX_CREDENTIAL_LEN]).unwrap(),
        counter: u32::MAX,
        device_signature: [0xCD; 64],
    };
    assert_eq!(largest.to_bytes().len(), MAX_PRESENTATION_LEN);
    assert_eq!(Presentation::from_text(&largest.to_text()), Ok(largest));
    let unbound = Payload { holder: HolderBinding::None, ..sample_payload() };
    assert!(
        Presentation::from_bytes(
            &Presentation { credential: Issuer::generate(1).issue(unbound).unwrap(), ..sample() }.to_bytes()
        )
        .is_ok()
    );
}

proptest! {
    #[test]
    fn any_presentation_round_trips_through_bytes_and_text(
        credential in prop::collection::vec(any::<u8>(), 65..=MAX_CREDENTIAL_LEN),
        counter in any::<u32>(),
        device_signature in any::<[u8; 64]>(),
    ) {
        let presentation = Presentation { credential: Credential::from_bytes(credential).unwrap(), counter, device_signature };
        prop_assert_eq!(Presentation::from_bytes(&presentation.to_bytes()), Ok(presentation.clone()));
        prop_assert_eq!(Presentation::from_text(&presentation.to_text()), Ok(presentation));
    }

    #[test]
    fn whatever_bytes_decode_re_encode_to_exactly_those_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(presentation) = Presentation::from_bytes(&bytes) {
            prop_assert_eq!(presentation.to_bytes(), bytes);
        }
    }
}
