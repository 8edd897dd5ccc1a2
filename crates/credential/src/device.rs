//! Device keys: the phone's own public key that a device-bound credential names, and the
//! exact message the phone signs to prove it holds the matching private key.
//!
//! Browsers create the key with WebCrypto (Ed25519, or ECDSA P-256 where Ed25519 is missing)
//! and export the raw public key: 32 bytes for Ed25519, 65 bytes (SEC1 uncompressed) for P-256.
//! The credential carries P-256 keys compressed (33 bytes) to keep the QR code small.
//!
//! Signatures are 64 bytes either way: plain Ed25519, or ECDSA-with-SHA-256 in IEEE P1363 form
//! (r ‖ s, as WebCrypto returns it) with `s` in the lower half of the group order. ECDSA
//! signatures come in pairs ((r, s) and (r, n − s) both verify), so only the low-S one is
//! accepted: every presentation then has exactly one valid byte string. WebCrypto does not
//! normalise `s` by itself; the phone must replace a high `s` with `n − s` before sending.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature as EdSignature, VerifyingKey as EdVerifyingKey};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature as P256Signature, VerifyingKey as P256VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::{HolderBinding, Rejection};

/// Length of a device signature (Ed25519, or P-256 r ‖ s).
pub const DEVICE_SIGNATURE_LEN: usize = 64;

/// Domain separation: the first bytes of every device proof message (exactly 20 ASCII bytes).
pub const DEVICE_PROOF_CONTEXT: &[u8; 20] = b"ADMIT-DEVICE-PROOF-1";

/// Length of [`device_proof_message`]'s output.
pub const DEVICE_PROOF_MESSAGE_LEN: usize = DEVICE_PROOF_CONTEXT.len() + 8 + 4 + 4;

/// What the device signs: `ADMIT-DEVICE-PROOF-1` ‖ ticket_id u64 BE ‖ ticket_version u32 BE ‖
/// counter u32 BE, where `counter` is the device's unix time in whole seconds at signing.
///
/// The ticket version is included so a proof made for a re-issued (revoked) credential cannot
/// be paired with the new one; the counter makes each proof expire quickly.
pub fn device_proof_message(ticket_id: u64, ticket_version: u32, counter: u32) -> Vec<u8> {
    let mut message = Vec::with_capacity(DEVICE_PROOF_MESSAGE_LEN);
    message.extend_from_slice(DEVICE_PROOF_CONTEXT);
    message.extend_from_slice(&ticket_id.to_be_bytes());
    message.extend_from_slice(&ticket_version.to_be_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    message
}

/// The signature algorithm of a device key, named as WebCrypto names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceAlgorithm {
    #[serde(rename = "Ed25519")]
    Ed25519,
    #[serde(rename = "P-256")]
    P256,
}

impl DeviceAlgorithm {
    /// The WebCrypto name: `Ed25519` or `P-256`.
    pub fn name(&self) -> &'static str {
        match self {
            DeviceAlgorithm::Ed25519 => "Ed25519",
            DeviceAlgorithm::P256 => "P-256",
        }
    }
}

impl fmt::Display for DeviceAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text is neither `Ed25519` nor `P-256`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device key algorithm '{0}' (expected Ed25519 or P-256)")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for DeviceAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Ed25519" => Ok(DeviceAlgorithm::Ed25519),
            "P-256" => Ok(DeviceAlgorithm::P256),
            other => Err(UnknownAlgorithm(other.to_owned())),
        }
    }
}

/// Why raw bytes are not a usable device public key. The message is fit for an API client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDeviceKey {
    #[error("an Ed25519 device key must be 32 bytes")]
    Ed25519Length,
    #[error("the Ed25519 device key is not a curve point or has small order")]
    Ed25519Point,
    #[error("a P-256 device key must be 65 bytes (SEC1 uncompressed, 0x04 …) or 33 bytes (compressed, 0x02/0x03 …)")]
    P256Encoding,
    #[error("the P-256 device key is not a point on the curve")]
    P256Point,
}

/// A key that cannot be used in a credential makes that credential unreadable.
impl From<InvalidDeviceKey> for Rejection {
    fn from(_: InvalidDeviceKey) -> Self {
        Rejection::Malformed
    }
}

/// A device's public key, ready to check device proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceKey {
    Ed25519(EdVerifyingKey),
    P256(P256VerifyingKey),
}

impl DeviceKey {
    /// Reads a raw public key as a browser exports it (`crypto.subtle.exportKey("raw", …)`):
    /// Ed25519 32 bytes; P-256 65 bytes uncompressed or 33 bytes compressed. Points that are not
    /// on the curve, the identity and (for Ed25519) small-order keys are refused, since a weak
    /// key would accept forged proofs.
    pub fn from_raw(algorithm: DeviceAlgorithm, raw: &[u8]) -> Result<DeviceKey, InvalidDeviceKey> {
        match algorithm {
            DeviceAlgorithm::Ed25519 => {
                let bytes: &[u8; 32] = raw.try_into().map_err(|_| InvalidDeviceKey::Ed25519Length)?;
                let key = EdVerifyingKey::from_bytes(bytes).map_err(|_| InvalidDeviceKey::Ed25519Point)?;
                if key.is_weak() {
                    return Err(InvalidDeviceKey::Ed25519Point);
                }
                Ok(DeviceKey::Ed25519(key))
            }
            DeviceAlgorithm::P256 => {
                let well_formed = matches!((raw.len(), raw.first()), (65, Some(0x04)) | (33, Some(0x02 | 0x03)));
                if !well_formed {
                    return Err(InvalidDeviceKey::P256Encoding);
                }
                let key = P256VerifyingKey::from_sec1_bytes(raw).map_err(|_| InvalidDeviceKey::P256Point)?;
                // A coordinate written as x + p would decode to the same point; accept only
                // the one spelling, so a key has one binding and one database row.
                if key.to_encoded_point(raw.len() == 33).as_bytes() != raw {
                    return Err(InvalidDeviceKey::P256Point);
                }
                Ok(DeviceKey::P256(key))
            }
        }
    }

    /// The key a credential names, or `None` when the credential is not device bound.
    pub fn from_binding(binding: &HolderBinding) -> Option<Result<DeviceKey, InvalidDeviceKey>> {
        match binding {
            HolderBinding::DeviceEd25519(key) => Some(DeviceKey::from_raw(DeviceAlgorithm::Ed25519, key)),
            HolderBinding::DeviceP256(key) => Some(DeviceKey::from_raw(DeviceAlgorithm::P256, key)),
            HolderBinding::None | HolderBinding::PhoneHash(_) => None,
        }
    }

    pub fn algorithm(&self) -> DeviceAlgorithm {
        match self {
            DeviceKey::Ed25519(_) => DeviceAlgorithm::Ed25519,
            DeviceKey::P256(_) => DeviceAlgorithm::P256,
        }
    }

    /// The holder binding to write into a credential issued for this device.
    pub fn binding(&self) -> HolderBinding {
        match self {
            DeviceKey::Ed25519(key) => HolderBinding::DeviceEd25519(key.to_bytes()),
            DeviceKey::P256(key) => {
                let point = key.to_encoded_point(true);
                HolderBinding::DeviceP256(point.as_bytes().try_into().expect("a compressed P-256 point is 33 bytes"))
            }
        }
    }

    /// The raw public key as a browser exports it (32 bytes, or 65 bytes uncompressed).
    pub fn to_raw(&self) -> Vec<u8> {
        match self {
            DeviceKey::Ed25519(key) => key.to_bytes().to_vec(),
            DeviceKey::P256(key) => key.to_encoded_point(false).as_bytes().to_vec(),
        }
    }

    /// Checks a device signature over `message` (normally [`device_proof_message`]): Ed25519
    /// strictly (no malleated or small-order forms), P-256 as ECDSA-SHA-256 in P1363 form with
    /// a low `s`. Any failure is [`Rejection::BadDeviceSignature`].
    pub fn verify(&self, message: &[u8], signature: &[u8; DEVICE_SIGNATURE_LEN]) -> Result<(), Rejection> {
        let good = match self {
            DeviceKey::Ed25519(key) => key.verify_strict(message, &EdSignature::from_bytes(signature)).is_ok(),
            DeviceKey::P256(key) => match P256Signature::from_slice(signature) {
                // `normalize_s` answers Some only for a high `s`: the malleated twin.
                Ok(sig) => sig.normalize_s().is_none() && key.verify(message, &sig).is_ok(),
                Err(_) => false,
            },
        };
        if good { Ok(()) } else { Err(Rejection::BadDeviceSignature) }
    }
}

#[cfg(test)]
mod tests;
