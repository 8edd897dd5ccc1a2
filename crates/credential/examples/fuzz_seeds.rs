//! Writes the decoder fuzzer's seed corpus: genuine credentials (text and binary, with and
//! without holder binding), genuine device presentations (Ed25519 and P-256), and the classic
//! ways to break either. Deterministic, so the committed
//! corpus can be regenerated exactly:
//!
//! `cargo run -p admit-credential --example fuzz_seeds -- crates/credential/fuzz/corpus/credential_decode`

use admit_credential::fuzzing::{SEED_NOW, seed_device, seed_issuer, seed_p256_device};
use admit_credential::{Credential, DeviceSigner, HolderBinding, Issuer, Payload, Presentation};
use std::path::PathBuf;

fn payload(holder: HolderBinding) -> Payload {
    Payload {
        key_id: admit_credential::fuzzing::SEED_KEY_ID,
        ticket_id: 1_234_567_890,
        ticket_version: 1,
        session_id: 42,
        seat: "Floor A-17".into(),
        grade: "VIP".into(),
        valid_from: 1_767_225_600,
        valid_until: 1_767_254_400,
        holder,
        reserved: vec![],
    }
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: fuzz_seeds <corpus dir>"));
    std::fs::create_dir_all(&dir)?;
    let issuer = seed_issuer();
    let sign = |p: Payload| issuer.issue(p).expect("sign a seed");
    let genuine = sign(payload(HolderBinding::None));
    let device = sign(payload(HolderBinding::DeviceEd25519([9; 32])));
    let phone = sign(payload(HolderBinding::PhoneHash([3; 32])));
    let long_seat = sign(Payload { seat: "S".repeat(60), reserved: vec![1, 2, 3], ..payload(HolderBinding::None) });

    let mut flipped = genuine.as_bytes().to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    let mut bad_version = genuine.as_bytes().to_vec();
    bad_version[0] = 2;
    // A payload of format version 2 signed by the seed key: a credential this build cannot read.
    let version2_signed = {
        use ed25519_dalek::Signer;
        let mut bytes = payload(HolderBinding::None).encode().expect("encode a seed");
        bytes[0] = 2;
        let signature = ed25519_dalek::SigningKey::from_bytes(&admit_credential::fuzzing::SEED_SECRET).sign(&bytes);
        [bytes, signature.to_bytes().to_vec()].concat()
    };
    let noise = b"https://example.com/a-qr-code-that-is-a-link-and-not-a-ticket-at-all/0123456789".to_vec();
    let other_key = Issuer::from_secret(8, &[0x11; 32]).issue(Payload { key_id: 8, ..payload(HolderBinding::None) });
    let other_key = other_key.expect("sign with another key");
    let text = |b: &[u8]| Credential::from_bytes(b.to_vec()).map(|c| c.to_text()).unwrap_or_default();

    let now = u32::try_from(SEED_NOW).expect("the seed clock fits a counter");
    let (handset, p256_handset) = (seed_device(), seed_p256_device());
    let bound = sign(payload(handset.binding()));
    let presented = handset.present(bound.clone(), now);
    let p256_presented = p256_handset.present(sign(payload(p256_handset.binding())), now);
    let stale = handset.present(bound.clone(), now - 3600);
    let other_phone = DeviceSigner::ed25519_from_secret(&[0x6e; 32]).present(bound.clone(), now);
    let unbound = handset.present(genuine.clone(), now);
    let mut flipped_counter = presented.to_bytes();
    let counter_at = flipped_counter.len() - 64 - 1;
    flipped_counter[counter_at] ^= 0x01;
    let presentation_text = |b: &[u8]| Presentation::from_bytes(b).map(|p| p.to_text()).unwrap_or_default();

    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("genuine.txt", genuine.to_text().into_bytes()),
        ("genuine.bin", genuine.as_bytes().to_vec()),
        ("device_bound.txt", device.to_text().into_bytes()),
        ("phone_bound.txt", phone.to_text().into_bytes()),
        ("long_seat_reserved.txt", long_seat.to_text().into_bytes()),
        ("flipped_signature.txt", text(&flipped).into_bytes()),
        ("unsupported_version.bin", bad_version.clone()),
        ("version2_unsigned.txt", text(&bad_version).into_bytes()),
        ("version2_signed.txt", text(&version2_signed).into_bytes()),
        ("noise_in_envelope.txt", text(&noise).into_bytes()),
        ("unknown_key.txt", other_key.to_text().into_bytes()),
        ("truncated.txt", genuine.to_text().as_bytes()[..40].to_vec()),
        ("truncated.bin", genuine.as_bytes()[..30].to_vec()),
        ("wrong_prefix.txt", genuine.to_text().replacen("ADM1:", "ADM9:", 1).into_bytes()),
        ("bad_base45.txt", b"ADM1:::::~~~~".to_vec()),
        ("empty", Vec::new()),
        ("not_utf8.bin", vec![0xff, 0xfe, 0x00, 0x41, 0x44, 0x4d]),
        ("presentation.txt", presented.to_text().into_bytes()),
        ("presentation.bin", presented.to_bytes()),
        ("presentation_p256.txt", p256_presented.to_text().into_bytes()),
        ("presentation_stale.txt", stale.to_text().into_bytes()),
        ("presentation_other_device.txt", other_phone.to_text().into_bytes()),
        ("presentation_unbound.txt", unbound.to_text().into_bytes()),
        ("presentation_flipped_counter.txt", presentation_text(&flipped_counter).into_bytes()),
        ("presentation_version2.txt", presented.to_text().replacen("ADP1:", "ADP2:", 1).into_bytes()),
        ("presentation_truncated.txt", presented.to_text().as_bytes()[..60].to_vec()),
    ];
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(name), bytes)?;
    }
    println!("wrote {} seeds to {}", seeds.len(), dir.display());
    Ok(())
}
