//! The decoder's fuzz harness, shared by the cargo-fuzz target (`crates/credential/fuzz`) and
//! the test that replays its seed corpus on every `./scripts/test`.
//!
//! Whatever bytes arrive (as scanned text or as raw binary), decoding and verifying must never
//! panic, and anything the decoder accepts must survive an encode/decode round trip unchanged.

use crate::{Credential, Issuer, KeyRing, Payload};

/// The key ID and secret that sign the seed corpus's genuine credentials.
pub const SEED_KEY_ID: u32 = 7;
pub const SEED_SECRET: [u8; 32] = [0x5e; 32];

/// The issuer of the seed corpus's genuine credentials.
pub fn seed_issuer() -> Issuer {
    Issuer::from_secret(SEED_KEY_ID, &SEED_SECRET)
}

/// What the harness concluded, so tests can check seeds with a known outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A genuine credential under the seed key: its payload.
    Verified(Payload),
    /// Refused, with the stable rejection code.
    Refused(&'static str),
}

/// Runs one input through every decoding path; panics only on a broken property.
pub fn check_decoder(data: &[u8]) -> Outcome {
    let mut ring = KeyRing::new();
    ring.insert(SEED_KEY_ID, &seed_issuer().public_key()).expect("the seed key is a valid Ed25519 key");

    if let Ok(payload) = Payload::decode(data) {
        round_trips(&payload);
    }
    if let Ok(credential) = Credential::from_bytes(data.to_vec()) {
        if let Ok(payload) = credential.payload_unverified() {
            round_trips(&payload);
        }
        let _ = ring.verify(&credential);
    }
    let Ok(text) = std::str::from_utf8(data) else { return Outcome::Refused("malformed") };
    match ring.verify_text(text) {
        Ok(payload) => {
            round_trips(&payload);
            Outcome::Verified(payload)
        }
        Err(rejection) => Outcome::Refused(rejection.code()),
    }
}

fn round_trips(payload: &Payload) {
    let bytes = payload.encode().expect("a decoded payload encodes again");
    assert_eq!(Payload::decode(&bytes).as_ref(), Ok(payload), "decode(encode(p)) must be p");
}
