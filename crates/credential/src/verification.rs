//! Verifying credentials with the organisers' public keys.
//!
//! This is what a gate holds: it can check credentials offline but never mint one. The
//! signature is always checked over the exact bytes received, never over a re-encoding.

use std::collections::HashMap;

use ed25519_dalek::{Signature, VerifyingKey};

use crate::{Credential, Payload, Rejection};

/// Public verification keys by key ID (what a gate holds; it can verify but never mint).
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: HashMap<u32, VerifyingKey>,
}

/// The bytes given to [`KeyRing::insert`] are not a usable Ed25519 public key
/// (not a curve point, or a weak small-order key that would accept forged signatures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a usable Ed25519 public key")]
pub struct InvalidPublicKey;

impl KeyRing {
    /// An empty ring: verifies nothing until keys are synced in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the public key for `key_id`, as published by [`crate::Issuer`].
    pub fn insert(&mut self, key_id: u32, public_key: &[u8; 32]) -> Result<(), InvalidPublicKey> {
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| InvalidPublicKey)?;
        if key.is_weak() {
            return Err(InvalidPublicKey);
        }
        self.keys.insert(key_id, key);
        Ok(())
    }

    /// Whether credentials signed under `key_id` can be checked here.
    pub fn contains(&self, key_id: u32) -> bool {
        self.keys.contains_key(&key_id)
    }

    /// The verification key for `key_id`, or [`Rejection::UnknownKey`].
    pub(crate) fn key(&self, key_id: u32) -> Result<&VerifyingKey, Rejection> {
        self.keys.get(&key_id).ok_or(Rejection::UnknownKey)
    }

    /// Decodes, looks up the key, and checks the Ed25519 signature over the EXACT received
    /// payload bytes (never over a re-encoding). Returns the payload only if the signature is
    /// good. Uses strict verification, so no second, malleated signature is ever accepted.
    ///
    /// A payload whose first byte is not [`crate::FORMAT_VERSION`] is
    /// [`Rejection::UnsupportedVersion`] only when it is a credential all the same: every format
    /// version keeps the envelope (version byte, key ID u32 BE, …, issuer signature over all
    /// of it), and the signature checks out under a key of this ring. Anything else is just
    /// not a credential: [`Rejection::Malformed`].
    pub fn verify(&self, credential: &Credential) -> Result<Payload, Rejection> {
        let payload = self.payload_of(credential)?;
        let key = self.key(payload.key_id)?;
        let signature = Signature::from_bytes(&credential.signature_bytes());
        key.verify_strict(credential.payload_bytes(), &signature).map_err(|_| Rejection::BadSignature)?;
        Ok(payload)
    }

    /// The payload, unverified, with an unknown format version told apart from bytes that are
    /// no credential at all (see [`KeyRing::verify`]).
    pub(crate) fn payload_of(&self, credential: &Credential) -> Result<Payload, Rejection> {
        match credential.payload_unverified() {
            Err(Rejection::UnsupportedVersion) if !self.signed_envelope(credential) => Err(Rejection::Malformed),
            other => other,
        }
    }

    /// Whether the credential's signature is good under the key its envelope names (the four
    /// bytes after the version byte), whatever its format version.
    fn signed_envelope(&self, credential: &Credential) -> bool {
        let payload = credential.payload_bytes();
        let Some(key_id) = payload.get(1..5).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes) else {
            return false;
        };
        let Ok(key) = self.key(key_id) else { return false };
        key.verify_strict(payload, &Signature::from_bytes(&credential.signature_bytes())).is_ok()
    }

    /// [`Credential::from_text`] then [`KeyRing::verify`]: what a gate does with a scanned line.
    pub fn verify_text(&self, text: &str) -> Result<Payload, Rejection> {
        self.verify(&Credential::from_text(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Issuer;
    use crate::testing::{sample_payload, valid_payload};
    use proptest::prelude::*;

    fn ring_with(issuer: &Issuer) -> KeyRing {
        let mut ring = KeyRing::new();
        ring.insert(issuer.key_id(), &issuer.public_key()).unwrap();
        ring
    }

    #[test]
    fn a_genuine_credential_verifies_to_its_payload() {
        let issuer = Issuer::generate(7);
        let credential = issuer.issue(sample_payload()).unwrap();
        assert_eq!(ring_with(&issuer).verify(&credential), Ok(sample_payload()));
    }

    #[test]
    fn an_unknown_key_id_is_unknown_key() {
        let issuer = Issuer::generate(7);
        let credential = Issuer::generate(8).issue(sample_payload()).unwrap();
        let ring = ring_with(&issuer);
        assert!(!ring.contains(8));
        assert_eq!(ring.verify(&credential), Err(Rejection::UnknownKey));
        assert_eq!(KeyRing::new().verify(&credential), Err(Rejection::UnknownKey));
    }

    #[test]
    fn another_key_under_the_same_id_is_bad_signature() {
        let genuine = Issuer::generate(7);
        let impostor = Issuer::generate(7);
        let forged = impostor.issue(sample_payload()).unwrap();
        assert_eq!(ring_with(&genuine).verify(&forged), Err(Rejection::BadSignature));
    }

    #[test]
    fn weak_or_invalid_public_keys_are_refused() {
        let mut ring = KeyRing::new();
        let identity = {
            let mut y = [0; 32];
            y[0] = 1; // the identity point: small order, verifies forgeries
            y
        };
        assert_eq!(ring.insert(1, &identity), Err(InvalidPublicKey));
        // y = 2 is not the y coordinate of any curve point.
        let mut not_a_point = [0; 32];
        not_a_point[0] = 2;
        assert_eq!(ring.insert(1, &not_a_point), Err(InvalidPublicKey));
        assert!(!ring.contains(1));
    }

    #[test]
    fn bytes_of_another_first_byte_are_malformed_unless_signed_like_a_credential() {
        let issuer = Issuer::generate(7);
        let ring = ring_with(&issuer);
        let mut bytes = issuer.issue(sample_payload()).unwrap().as_bytes().to_vec();
        bytes[0] = 2;
        // The signature no longer matches: nothing says these bytes are a credential.
        assert_eq!(ring.verify(&Credential::from_bytes(bytes.clone()).unwrap()), Err(Rejection::Malformed));
        let text = b"https://example.com/this-is-a-link-in-a-qr-code-not-a-ticket-at-all-and-longer-than-64";
        assert_eq!(ring.verify(&Credential::from_bytes(text.to_vec()).unwrap()), Err(Rejection::Malformed));
        assert_eq!(ring.verify(&Credential::from_bytes(vec![0; 100]).unwrap()), Err(Rejection::Malformed));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn flipping_any_bit_is_never_accepted(
            payload in valid_payload(),
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let issuer = Issuer::from_secret(7, &[3; 32]);
            let ring = ring_with(&issuer);
            let mut bytes = issuer.issue(payload).unwrap().as_bytes().to_vec();
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
            let tampered = Credential::from_bytes(bytes).unwrap();
            let outcome = ring.verify(&tampered);
            prop_assert!(
                matches!(
                    outcome,
                    Err(Rejection::BadSignature
                        | Rejection::Malformed
                        | Rejection::UnknownKey
                        | Rejection::UnsupportedVersion)
                ),
                "flip at byte {} bit {} gave {:?}", i, bit, outcome
            );
        }
    }
}
