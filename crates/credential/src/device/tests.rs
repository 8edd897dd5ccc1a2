//! Device keys and signatures: the raw forms browsers export and sign with, and the refusals.

use super::*;
use crate::DeviceSigner;
use p256::ecdsa::signature::Signer as _;

fn p256_signer() -> DeviceSigner {
    DeviceSigner::p256_from_secret(&[0x21; 32]).unwrap()
}

/// A raw ECDSA signature (r ‖ s) exactly as p256 makes it, and its malleated twin (r ‖ n − s):
/// returned as (low-S form, high-S form).
fn p256_signature_pair(message: &[u8]) -> ([u8; 64], [u8; 64]) {
    let DeviceSigner::P256(key) = p256_signer() else { unreachable!() };
    let signature: P256Signature = key.sign(message);
    let twin = P256Signature::from_scalars(signature.r().to_bytes(), (-*signature.s()).to_bytes()).unwrap();
    let (low, high) = if signature.normalize_s().is_none() { (signature, twin) } else { (twin, signature) };
    (low.to_bytes().into(), high.to_bytes().into())
}

#[test]
fn the_proof_message_is_the_context_then_ticket_version_and_counter_big_endian() {
    let message = device_proof_message(0x0102_0304_0506_0708, 0x0A0B_0C0D, 0x1112_1314);
    assert_eq!(message.len(), DEVICE_PROOF_MESSAGE_LEN);
    assert_eq!(message.len(), 36);
    assert_eq!(&message[..20], b"ADMIT-DEVICE-PROOF-1");
    assert_eq!(&message[20..28], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&message[28..32], &[0x0A, 0x0B, 0x0C, 0x0D]);
    assert_eq!(&message[32..], &[0x11, 0x12, 0x13, 0x14]);
}

#[test]
fn algorithms_use_the_webcrypto_names_in_text_and_json() {
    assert_eq!("Ed25519".parse(), Ok(DeviceAlgorithm::Ed25519));
    assert_eq!("P-256".parse(), Ok(DeviceAlgorithm::P256));
    assert_eq!("p256".parse::<DeviceAlgorithm>(), Err(UnknownAlgorithm("p256".into())));
    assert_eq!(DeviceAlgorithm::P256.to_string(), "P-256");
    assert_eq!(serde_json::to_string(&DeviceAlgorithm::P256).unwrap(), "\"P-256\"");
    assert_eq!(serde_json::from_str::<DeviceAlgorithm>("\"Ed25519\"").unwrap(), DeviceAlgorithm::Ed25519);
    assert!(serde_json::from_str::<DeviceAlgorithm>("\"ECDSA\"").is_err());
}

#[test]
fn an_ed25519_key_is_32_bytes_on_the_curve_and_not_of_small_order() {
    let raw = DeviceSigner::ed25519_from_secret(&[5; 32]).public_raw();
    let key = DeviceKey::from_raw(DeviceAlgorithm::Ed25519, &raw).unwrap();
    assert_eq!(key.to_raw(), raw);
    assert_eq!(key.binding(), HolderBinding::DeviceEd25519(raw.clone().try_into().unwrap()));
    assert_eq!(DeviceKey::from_raw(DeviceAlgorithm::Ed25519, &raw[..31]), Err(InvalidDeviceKey::Ed25519Length));
    let mut identity = [0; 32];
    identity[0] = 1;
    assert_eq!(DeviceKey::from_raw(DeviceAlgorithm::Ed25519, &identity), Err(InvalidDeviceKey::Ed25519Point));
    let mut not_a_point = [0; 32];
    not_a_point[0] = 2;
    assert_eq!(DeviceKey::from_raw(DeviceAlgorithm::Ed25519, &not_a_point), Err(InvalidDeviceKey::Ed25519Point));
}

#[test]
fn a_p256_key_is_accepted_uncompressed_as_browsers_export_it_and_bound_compressed() {
    let raw = p256_signer().public_raw();
    assert_eq!((raw.len(), raw[0]), (65, 0x04));
    let key = DeviceKey::from_raw(DeviceAlgorithm::P256, &raw).unwrap();
    let HolderBinding::DeviceP256(compressed) = key.binding() else { panic!("P-256 binding") };
    assert!(compressed[0] == 0x02 || compressed[0] == 0x03);
    assert_eq!(compressed[1..], raw[1..33]);
    let from_compressed = DeviceKey::from_raw(DeviceAlgorithm::P256, &compressed).unwrap();
    assert_eq!(from_compressed, key);
    assert_eq!(from_compressed.to_raw(), raw);
    assert_eq!(DeviceKey::from_binding(&key.binding()), Some(Ok(key)));
}

#[test]
fn the_p256_identity_off_curve_points_and_other_encodings_are_refused() {
    let raw = p256_signer().public_raw();
    let refused = |bytes: &[u8]| DeviceKey::from_raw(DeviceAlgorithm::P256, bytes).unwrap_err();
    assert_eq!(refused(&[0x00]), InvalidDeviceKey::P256Encoding, "SEC1 identity");
    assert_eq!(refused(&raw[..64]), InvalidDeviceKey::P256Encoding);
    let mut hybrid = raw.clone();
    hybrid[0] = 0x06;
    assert_eq!(refused(&hybrid), InvalidDeviceKey::P256Encoding);
    let mut compact = raw[..33].to_vec();
    compact[0] = 0x05;
    assert_eq!(refused(&compact), InvalidDeviceKey::P256Encoding);
    let mut off_curve = raw.clone();
    off_curve[64] ^= 1;
    assert_eq!(refused(&off_curve), InvalidDeviceKey::P256Point);
    let mut zero_point = [0u8; 65];
    zero_point[0] = 0x04;
    assert_eq!(refused(&zero_point), InvalidDeviceKey::P256Point);
    // x = p, the field modulus: not a canonical coordinate.
    let mut x_is_p = vec![0x02];
    x_is_p.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1]);
    x_is_p.extend_from_slice(&[0; 12]);
    x_is_p.extend_from_slice(&[0xFF; 12]);
    assert_eq!(refused(&x_is_p), InvalidDeviceKey::P256Point);
}

#[test]
fn phone_hash_and_unbound_holders_name_no_device_key() {
    assert_eq!(DeviceKey::from_binding(&HolderBinding::None), None);
    assert_eq!(DeviceKey::from_binding(&HolderBinding::PhoneHash([1; 32])), None);
    assert_eq!(DeviceKey::from_binding(&HolderBinding::DeviceP256([9; 33])), Some(Err(InvalidDeviceKey::P256Encoding)));
}

#[test]
fn an_ed25519_device_signature_verifies_only_over_its_own_message() {
    let signer = DeviceSigner::ed25519_from_secret(&[5; 32]);
    let message = device_proof_message(1, 2, 3);
    let signature = signer.sign(&message);
    assert_eq!(signer.device_key().verify(&message, &signature), Ok(()));
    let other = device_proof_message(1, 2, 4);
    assert_eq!(signer.device_key().verify(&other, &signature), Err(Rejection::BadDeviceSignature));
    let stranger = DeviceSigner::ed25519_from_secret(&[6; 32]).device_key();
    assert_eq!(stranger.verify(&message, &signature), Err(Rejection::BadDeviceSignature));
}

#[test]
fn a_p256_signature_in_p1363_form_with_low_s_verifies() {
    let message = device_proof_message(77, 1, 1_767_225_600);
    let (low, _) = p256_signature_pair(&message);
    assert_eq!(p256_signer().device_key().verify(&message, &low), Ok(()));
    assert_eq!(p256_signer().sign(&message), low, "the signer normalises s like a phone must");
}

#[test]
fn the_malleated_high_s_twin_of_a_p256_signature_is_refused() {
    let message = device_proof_message(77, 1, 1_767_225_600);
    let (low, high) = p256_signature_pair(&message);
    assert_ne!(low, high);
    assert_eq!(low[..32], high[..32], "same r");
    assert_eq!(p256_signer().device_key().verify(&message, &high), Err(Rejection::BadDeviceSignature));
}

#[test]
fn a_wrong_or_degenerate_p256_signature_is_refused() {
    let key = p256_signer().device_key();
    let message = device_proof_message(77, 1, 1_767_225_600);
    let (low, _) = p256_signature_pair(&message);
    let mut flipped = low;
    flipped[40] ^= 0x10;
    assert_eq!(key.verify(&message, &flipped), Err(Rejection::BadDeviceSignature));
    assert_eq!(key.verify(&device_proof_message(78, 1, 1_767_225_600), &low), Err(Rejection::BadDeviceSignature));
    assert_eq!(key.verify(&message, &[0; 64]), Err(Rejection::BadDeviceSignature), "r = s = 0");
    assert_eq!(key.verify(&message, &[0xFF; 64]), Err(Rejection::BadDeviceSignature), "r, s >= n");
    let other = DeviceSigner::p256_from_secret(&[0x22; 32]).unwrap();
    assert_eq!(other.device_key().verify(&message, &low), Err(Rejection::BadDeviceSignature));
}

#[test]
fn a_key_of_one_algorithm_never_checks_the_other_algorithms_signatures() {
    let message = device_proof_message(1, 1, 1);
    let ed = DeviceSigner::ed25519_from_secret(&[5; 32]);
    let p = p256_signer();
    assert_eq!(p.device_key().verify(&message, &ed.sign(&message)), Err(Rejection::BadDeviceSignature));
    assert_eq!(ed.device_key().verify(&message, &p.sign(&message)), Err(Rejection::BadDeviceSignature));
}
