//! The decoder's fuzz harness, shared by the cargo-fuzz target (`crates/credential/fuzz`) and
//! the test that replays its seed corpus on every `./scripts/test`.
//!
//! Whatever bytes arrive (as scanned text or as raw binary), decoding and verifying must never
//! panic, anything the decoder accepts must survive an encode/decode round trip unchanged, and
//! a scanned line is run through exactly what a gate runs: [`Scanned::parse`] then
//! [`KeyRing::verify_scanned`] at a fixed clock ([`SEED_NOW`]).

use crate::{Credential, DeviceSigner, Issuer, KeyRing, Payload, Presentation, ProofPolicy, Scanned, Verified};

/// The key ID and secret that sign the seed corpus's genuine credentials.
pub const SEED_KEY_ID: u32 = 7;
pub const SEED_SECRET: [u8; 32] = [0x5e; 32];
/// The gate clock (unix seconds) the harness verifies at; genuine seed presentations are
/// signed at this time.
pub const SEED_NOW: i64 = 1_767_230_000;
/// The seed corpus's phone keys (Ed25519 seed and P-256 scalar).
pub const SEED_DEVICE_SECRET: [u8; 32] = [0x6d; 32];
pub const SEED_P256_DEVICE_SECRET: [u8; 32] = [0x3c; 32];

/// The issuer of the seed corpus's genuine credentials.
pub fn seed_issuer() -> Issuer {
    Issuer::from_secret(SEED_KEY_ID, &SEED_SECRET)
}

/// The Ed25519 phone of the seed corpus's genuine presentations.
pub fn seed_device() -> DeviceSigner {
    DeviceSigner::ed25519_from_secret(&SEED_DEVICE_SECRET)
}

/// The P-256 phone of the seed corpus's genuine presentations.
pub fn seed_p256_device() -> DeviceSigner {
    DeviceSigner::p256_from_secret(&SEED_P256_DEVICE_SECRET).expect("the seed scalar is a valid P-256 key")
}

/// What the harness concluded, so tests can check seeds with a known outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Admitted by the verifier under the seed key at [`SEED_NOW`].
    Verified(Verified),
    /// Refused, with the stable rejection code.
    Refused(&'static str),
}

/// Runs one input through every decoding path; panics only on a broken property.
pub fn check_decoder(data: &[u8]) -> Outcome {
    let mut ring = KeyRing::new();
    ring.insert(SEED_KEY_ID, &seed_issuer().public_key()).expect("the seed key is a valid Ed25519 key");
    let policy = ProofPolicy::default();

    if let Ok(payload) = Payload::decode(data) {
        round_trips(&payload);
    }
    if let Ok(credential) = Credential::from_bytes(data.to_vec()) {
        if let Ok(payload) = credential.payload_unverified() {
            round_trips(&payload);
        }
        let _ = ring.verify(&credential);
    }
    if let Ok(presentation) = Presentation::from_bytes(data) {
        assert_eq!(presentation.to_bytes(), data, "a decoded presentation re-encodes to its bytes");
        let _ = ring.verify_scanned(&Scanned::Presented(presentation), SEED_NOW, &policy);
    }
    let Ok(text) = std::str::from_utf8(data) else { return Outcome::Refused("malformed") };
    let scanned = match Scanned::parse(text) {
        Ok(scanned) => scanned,
        Err(rejection) => return Outcome::Refused(rejection.code()),
    };
    let canonical = match &scanned {
        Scanned::Static(credential) => credential.to_text(),
        Scanned::Presented(presentation) => presentation.to_text(),
    };
    assert_eq!(canonical, text.trim(), "a scanned line has exactly one accepted spelling");
    match ring.verify_scanned(&scanned, SEED_NOW, &policy) {
        Ok(verified) => {
            round_trips(&verified.payload);
            assert_eq!(verified.device_proof, verified.payload.holder.requires_device_proof());
            Outcome::Verified(verified)
        }
        Err(rejection) => Outcome::Refused(rejection.code()),
    }
}

fn round_trips(payload: &Payload) {
    let bytes = payload.encode().expect("a decoded payload encodes again");
    assert_eq!(Payload::decode(&bytes).as_ref(), Ok(payload), "decode(encode(p)) must be p");
}
