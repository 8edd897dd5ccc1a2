//! The phone's side of a device proof, in Rust: a device signing key that makes presentations.
//!
//! Real phones do this in the browser with a non-extractable WebCrypto key. This type exists
//! so tests, benchmarks and the demo can play a phone with exactly the bytes a browser sends
//! (same message, same 64-byte signature forms), without a browser.

use ed25519_dalek::Signer as _; // the `signature` crate trait, shared by p256
use rand::rngs::OsRng;

use crate::device::{DEVICE_SIGNATURE_LEN, device_proof_message};
use crate::{Credential, DeviceAlgorithm, DeviceKey, HolderBinding, Presentation};

/// A device's private signing key (Ed25519 or ECDSA P-256).
#[derive(Clone)]
pub enum DeviceSigner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl DeviceSigner {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate(algorithm: DeviceAlgorithm) -> DeviceSigner {
        match algorithm {
            DeviceAlgorithm::Ed25519 => DeviceSigner::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng)),
            DeviceAlgorithm::P256 => DeviceSigner::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
        }
    }

    /// A fixed Ed25519 key from a 32-byte seed (deterministic fixtures).
    pub fn ed25519_from_secret(secret: &[u8; 32]) -> DeviceSigner {
        DeviceSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    /// A fixed P-256 key from a 32-byte scalar; `None` if it is zero or not below the order.
    pub fn p256_from_secret(secret: &[u8; 32]) -> Option<DeviceSigner> {
        p256::ecdsa::SigningKey::from_slice(secret).ok().map(DeviceSigner::P256)
    }

    pub fn algorithm(&self) -> DeviceAlgorithm {
        self.device_key().algorithm()
    }

    /// The public half, as the server and gates see it.
    pub fn device_key(&self) -> DeviceKey {
        match self {
            DeviceSigner::Ed25519(key) => DeviceKey::Ed25519(key.verifying_key()),
            DeviceSigner::P256(key) => DeviceKey::P256(*key.verifying_key()),
        }
    }

    /// The binding to put in a credential issued for this device.
    pub fn binding(&self) -> HolderBinding {
        self.device_key().binding()
    }

    /// The raw public key a browser would register (32 bytes, or 65 bytes uncompressed).
    pub fn public_raw(&self) -> Vec<u8> {
        self.device_key().to_raw()
    }

    /// Signs `message`: Ed25519, or ECDSA-SHA-256 as r ‖ s with `s` normalised to the lower
    /// half (what a phone must send after WebCrypto's `sign`).
    pub fn sign(&self, message: &[u8]) -> [u8; DEVICE_SIGNATURE_LEN] {
        match self {
            DeviceSigner::Ed25519(key) => key.sign(message).to_bytes(),
            DeviceSigner::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                let low_s = signature.normalize_s().unwrap_or(signature);
                low_s.to_bytes().into()
            }
        }
    }

    /// A presentation of `credential` at device time `counter` (unix seconds). A credential
    /// whose payload does not decode is signed over ticket 0 version 0; gates refuse it as
    /// malformed before looking at the device signature.
    pub fn present(&self, credential: Credential, counter: u32) -> Presentation {
        let payload = credential.payload_unverified().ok();
        let (ticket_id, version) = payload.map_or((0, 0), |p| (p.ticket_id, p.ticket_version));
        let device_signature = self.sign(&device_proof_message(ticket_id, version, counter));
        Presentation { credential, counter, device_signature }
    }
}

/// Shows the algorithm and public key only, never the secret.
impl std::fmt::Debug for DeviceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSigner").field("public_key", &self.device_key()).finish_non_exhaustive()
    }
}

impl Presentation {
    /// A presentation signed with an Ed25519 device key (see [`DeviceSigner::present`]).
    pub fn sign_with_ed25519(credential: Credential, key: &ed25519_dalek::SigningKey, counter: u32) -> Presentation {
        DeviceSigner::Ed25519(key.clone()).present(credential, counter)
    }
}
