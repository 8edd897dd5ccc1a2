//! Codec tests: canonical round trips, strictness, and limits.

use super::*;
use crate::testing::{sample_payload, valid_payload};
use proptest::prelude::*;

#[test]
fn encoding_starts_with_the_format_version_and_has_the_documented_length() {
    let payload = sample_payload();
    let bytes = payload.encode().unwrap();
    assert_eq!(bytes[0], FORMAT_VERSION);
    assert_eq!(bytes.len(), MIN_ENCODED_LEN + payload.seat.len() + payload.grade.len());
    assert_eq!(&bytes[1..5], &7u32.to_be_bytes());
}

#[test]
fn a_payload_at_every_limit_encodes_to_the_maximum_length() {
    let payload = Payload {
        seat: "s".repeat(MAX_SEAT_LEN),
        grade: "g".repeat(MAX_GRADE_LEN),
        holder: HolderBinding::DeviceP256([2; 33]),
        reserved: vec![0xAA; MAX_RESERVED_LEN],
        ..sample_payload()
    };
    let bytes = payload.encode().unwrap();
    assert_eq!(bytes.len(), MAX_ENCODED_LEN);
    assert_eq!(Payload::decode(&bytes).unwrap(), payload);
}

#[test]
fn fields_over_their_limit_are_refused_by_encode() {
    let cases = [
        ("seat", Payload { seat: "é".repeat(33), ..sample_payload() }),
        ("grade", Payload { grade: "G".repeat(33), ..sample_payload() }),
        ("reserved", Payload { reserved: vec![0; 65], ..sample_payload() }),
    ];
    for (field, payload) in cases {
        assert!(
            matches!(payload.encode(), Err(EncodeError::FieldTooLong(f)) if f == field),
            "{field} should be too long"
        );
    }
}

#[test]
fn a_window_that_ends_before_it_starts_is_refused_by_encode() {
    let payload = Payload { valid_from: 100, valid_until: 99, ..sample_payload() };
    assert!(matches!(payload.encode(), Err(EncodeError::InvalidWindow)));
    let instant = Payload { valid_from: 100, valid_until: 100, ..sample_payload() };
    assert!(instant.encode().is_ok());
}

#[test]
fn an_unknown_format_version_is_its_own_reason() {
    let mut bytes = sample_payload().encode().unwrap();
    bytes[0] = 2;
    assert_eq!(Payload::decode(&bytes), Err(Rejection::UnsupportedVersion));
    bytes[0] = 0;
    assert_eq!(Payload::decode(&bytes), Err(Rejection::UnsupportedVersion));
}

#[test]
fn trailing_bytes_are_malformed() {
    let mut bytes = sample_payload().encode().unwrap();
    bytes.push(0);
    assert_eq!(Payload::decode(&bytes), Err(Rejection::Malformed));
}

#[test]
fn every_truncation_is_malformed() {
    let bytes = sample_payload().encode().unwrap();
    for len in 0..bytes.len() {
        assert_eq!(Payload::decode(&bytes[..len]), Err(Rejection::Malformed), "len {len}");
    }
}

/// Byte offset of the seat length in the layout.
const SEAT_LEN_AT: usize = 1 + 4 + 8 + 4 + 8;

#[test]
fn invalid_utf8_in_the_seat_is_malformed() {
    let payload = Payload { seat: "AB".into(), ..sample_payload() };
    let mut bytes = payload.encode().unwrap();
    bytes[SEAT_LEN_AT + 1] = 0xFF;
    assert_eq!(Payload::decode(&bytes), Err(Rejection::Malformed));
}

#[test]
fn a_seat_length_over_the_limit_is_malformed_even_if_the_bytes_are_there() {
    let mut bytes = sample_payload().encode().unwrap();
    bytes[SEAT_LEN_AT] = 65;
    bytes.splice(SEAT_LEN_AT + 1..SEAT_LEN_AT + 1, vec![b'x'; 65 - 23]);
    assert_eq!(Payload::decode(&bytes), Err(Rejection::Malformed));
}

#[test]
fn an_unknown_holder_tag_is_malformed() {
    let mut bytes = sample_payload().encode().unwrap();
    let holder_tag_at = bytes.len() - 2; // tag of `None`, then the empty reserved length
    assert_eq!(bytes[holder_tag_at], 0);
    bytes[holder_tag_at] = 4;
    assert_eq!(Payload::decode(&bytes), Err(Rejection::Malformed));
}

#[test]
fn a_decoded_window_that_ends_before_it_starts_is_malformed() {
    let mut bytes = sample_payload().encode().unwrap();
    let from_at = SEAT_LEN_AT + 1 + 23 + 1 + 3;
    bytes[from_at..from_at + 8].copy_from_slice(&i64::MAX.to_be_bytes());
    assert_eq!(Payload::decode(&bytes), Err(Rejection::Malformed));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn encode_then_decode_is_identity_and_canonical(payload in valid_payload()) {
        let bytes = payload.encode().unwrap();
        let decoded = Payload::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &payload);
        prop_assert_eq!(decoded.encode().unwrap(), bytes);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..300),
        claim_current_version in any::<bool>(),
    ) {
        // Half the inputs get past the version check so the field parsers are exercised too.
        if claim_current_version && !bytes.is_empty() {
            bytes[0] = FORMAT_VERSION;
        }
        if let Ok(payload) = Payload::decode(&bytes) {
            // Anything accepted must be the one canonical encoding of what it decoded to.
            prop_assert_eq!(payload.encode().unwrap(), bytes);
        }
    }

    #[test]
    fn decode_never_panics_on_mutated_valid_payloads(
        payload in valid_payload(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = payload.encode().unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = Payload::decode(&bytes) {
            prop_assert_eq!(decoded.encode().unwrap(), bytes);
        }
    }
}
