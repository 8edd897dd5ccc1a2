//! The known traps of signed-barcode systems (DESIGN.md §5), each pinned by a test against the
//! public API only, the way the server and gates use it.

use admit_credential::{Credential, FORMAT_VERSION, HolderBinding, Issuer, KeyRing, Payload, Rejection, TEXT_PREFIX};
use ed25519_dalek::{Signer, SigningKey};

const SECRET: [u8; 32] = [0x42; 32];

fn issuer() -> Issuer {
    Issuer::from_secret(11, &SECRET)
}

fn gate_ring() -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert(11, &issuer().public_key()).unwrap();
    ring
}

fn payload() -> Payload {
    Payload {
        key_id: 0,
        ticket_id: 9_000_001,
        ticket_version: 1,
        session_id: 5,
        seat: String::new(),
        grade: "GA".into(),
        valid_from: 1_767_225_600,
        valid_until: 1_767_312_000,
        holder: HolderBinding::None,
        reserved: b"promo:early".to_vec(),
    }
}

/// Signs arbitrary bytes with the genuine event key, as a buggy or hostile signer could.
fn sign_raw(payload_bytes: &[u8]) -> Credential {
    let signature = SigningKey::from_bytes(&SECRET).sign(payload_bytes).to_bytes();
    Credential::from_bytes([payload_bytes, &signature].concat()).unwrap()
}

#[test]
fn issued_credential_survives_the_text_form_and_verifies_to_the_same_payload() {
    let credential = issuer().issue(payload()).unwrap();
    let text = credential.to_text();
    assert!(text.starts_with(TEXT_PREFIX));
    assert!(
        text.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c)),
        "not QR alphanumeric: {text}"
    );
    let expected = Payload { key_id: 11, ..payload() };
    assert_eq!(gate_ring().verify_text(&format!("{text}\r\n")), Ok(expected));
}

#[test]
fn flipping_any_bit_of_a_credential_is_never_accepted() {
    let ring = gate_ring();
    let bytes = issuer().issue(payload()).unwrap().as_bytes().to_vec();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut tampered = bytes.clone();
            tampered[i] ^= 1 << bit;
            let outcome = ring.verify(&Credential::from_bytes(tampered).unwrap());
            assert!(outcome.is_err(), "flip at byte {i} bit {bit} was accepted");
        }
    }
}

#[test]
fn trailing_bytes_after_a_genuine_payload_are_refused_not_re_encoded_away() {
    // A verifier that decoded leniently and checked the signature over a re-encoding would
    // accept this: the payload decodes to the original and re-encodes to the signed bytes.
    let genuine = issuer().issue(payload()).unwrap();
    let (payload_bytes, signature) = genuine.as_bytes().split_at(genuine.as_bytes().len() - 64);
    let smuggled = [payload_bytes, b"\x00extra", signature].concat();
    let outcome = gate_ring().verify(&Credential::from_bytes(smuggled).unwrap());
    assert!(outcome.is_err(), "{outcome:?}");
}

#[test]
fn a_correctly_signed_non_canonical_payload_is_malformed() {
    let mut bytes = Payload { key_id: 11, ..payload() }.encode().unwrap();
    bytes.push(0);
    assert_eq!(gate_ring().verify(&sign_raw(&bytes)), Err(Rejection::Malformed));
}

#[test]
fn decoding_then_re_encoding_a_signed_payload_gives_the_identical_bytes() {
    let credential = issuer().issue(payload()).unwrap();
    let verified = gate_ring().verify(&credential).unwrap();
    let signed_part = &credential.as_bytes()[..credential.as_bytes().len() - 64];
    assert_eq!(verified.encode().unwrap(), signed_part);
}

#[test]
fn an_unknown_format_version_is_refused_with_its_own_reason() {
    let mut bytes = Payload { key_id: 11, ..payload() }.encode().unwrap();
    assert_eq!(bytes[0], FORMAT_VERSION);
    bytes[0] = 2;
    // Even correctly signed, a version this build cannot read is never guessed at.
    let credential = sign_raw(&bytes);
    assert_eq!(gate_ring().verify(&credential), Err(Rejection::UnsupportedVersion));
    assert_eq!(gate_ring().verify_text(&credential.to_text()), Err(Rejection::UnsupportedVersion));
    assert_eq!(Rejection::UnsupportedVersion.code(), "unsupported_version");
}

#[test]
fn a_credential_from_an_unknown_key_is_unknown_key() {
    let other_event = Issuer::generate(12);
    let credential = other_event.issue(payload()).unwrap();
    assert_eq!(gate_ring().verify(&credential), Err(Rejection::UnknownKey));
}

#[test]
fn a_different_key_under_the_same_key_id_is_bad_signature() {
    let forger = Issuer::generate(11);
    let credential = forger.issue(payload()).unwrap();
    assert_eq!(gate_ring().verify(&credential), Err(Rejection::BadSignature));
}

#[test]
fn a_device_bound_credential_verifies_here_and_keeps_its_binding_for_the_gate() {
    let device_key = SigningKey::from_bytes(&[0x77; 32]).verifying_key().to_bytes();
    let bound = Payload { holder: HolderBinding::DeviceEd25519(device_key), ..payload() };
    let credential = issuer().issue(bound).unwrap();
    let verified = gate_ring().verify_text(&credential.to_text()).unwrap();
    assert_eq!(verified.holder, HolderBinding::DeviceEd25519(device_key));
    // The gate layer must then demand a device signature; it is never a static credential.
    assert!(verified.holder.requires_device_proof());
}

#[test]
fn the_text_parser_never_verifies() {
    let forged = Issuer::generate(11).issue(payload()).unwrap();
    let parsed = Credential::from_text(&forged.to_text()).unwrap();
    assert_eq!(parsed, forged);
    assert_eq!(gate_ring().verify(&parsed), Err(Rejection::BadSignature));
}
