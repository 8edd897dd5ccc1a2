//! Minting credentials with an organiser's event signing key.
//!
//! Only the server holds an [`Issuer`]; gates get the public half through a
//! [`crate::KeyRing`].

use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::OsRng;

use crate::{Credential, EncodeError, Payload};

/// An organiser's event signing key with its key ID.
///
/// The key ID travels in every payload so gates can rotate keys and hold several at once.
pub struct Issuer {
    key_id: u32,
    key: SigningKey,
}

impl Issuer {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate(key_id: u32) -> Issuer {
        Issuer { key_id, key: SigningKey::generate(&mut OsRng) }
    }

    /// Restores a key kept in the secret store (see [`Issuer::secret_bytes`]).
    pub fn from_secret(key_id: u32, secret: &[u8; 32]) -> Issuer {
        Issuer { key_id, key: SigningKey::from_bytes(secret) }
    }

    /// The ID written into every payload this issuer signs.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 seed, for the secret store only. Never log it.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The verification key to publish to gates under [`Issuer::key_id`].
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Sets `payload.key_id` to this issuer's key id, encodes, and signs the exact bytes.
    pub fn issue(&self, mut payload: Payload) -> Result<Credential, EncodeError> {
        payload.key_id = self.key_id;
        let bytes = payload.encode()?;
        let signature = self.key.sign(&bytes).to_bytes();
        Ok(Credential::from_signed_parts(bytes, signature))
    }
}

/// Shows the key ID and public key only, so issuers can be logged safely.
impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("key_id", &self.key_id)
            .field("public_key", &hex(&self.public_key()))
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_payload;

    #[test]
    fn issue_overwrites_the_key_id_with_the_issuers() {
        let issuer = Issuer::from_secret(99, &[7; 32]);
        let credential = issuer.issue(Payload { key_id: 1, ..sample_payload() }).unwrap();
        assert_eq!(credential.payload_unverified().unwrap().key_id, 99);
    }

    #[test]
    fn a_secret_restores_the_same_key() {
        let issuer = Issuer::generate(3);
        let restored = Issuer::from_secret(3, &issuer.secret_bytes());
        assert_eq!(restored.public_key(), issuer.public_key());
        assert_ne!(Issuer::generate(3).public_key(), issuer.public_key());
    }

    #[test]
    fn signing_is_deterministic_over_the_same_payload() {
        let issuer = Issuer::from_secret(1, &[9; 32]);
        assert_eq!(issuer.issue(sample_payload()).unwrap(), issuer.issue(sample_payload()).unwrap());
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let secret = [0xAB; 32];
        let shown = format!("{:?}", Issuer::from_secret(5, &secret));
        assert!(shown.contains("key_id: 5"));
        assert!(!shown.contains(&hex(&secret)), "{shown}");
        assert!(!shown.contains("171, 171"), "{shown}");
    }
}
