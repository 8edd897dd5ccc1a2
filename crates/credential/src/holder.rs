//! Who may present a credential: the optional holder binding carried in the payload.
//!
//! A binding to a device key means a screenshot of the QR code alone is not enough: the gate
//! layer must also demand a fresh device signature. A phone hash lets staff check a holder
//! without the payload carrying the phone number itself.

use sha2::{Digest, Sha256};

/// Wire tags of the holder binding (one byte in the payload).
pub(crate) mod tag {
    pub const NONE: u8 = 0;
    pub const DEVICE_ED25519: u8 = 1;
    pub const DEVICE_P256: u8 = 2;
    pub const PHONE_HASH: u8 = 3;
}

/// Who the credential is bound to, if anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderBinding {
    /// Bearer credential: whoever shows it may enter (once).
    None,
    /// Bound to a device's Ed25519 public key; entry needs a device signature too.
    DeviceEd25519([u8; 32]),
    /// Bound to a device's P-256 public key (SEC1 compressed), for platform keystores
    /// that only offer P-256; entry needs a device signature too.
    DeviceP256([u8; 33]),
    /// Bound to a salted SHA-256 of the holder's phone number (see [`phone_hash`]).
    PhoneHash([u8; 32]),
}

impl HolderBinding {
    /// True when the gate must see a device signature before admitting: a credential that
    /// names a device key but arrives without one must be denied, never treated as static.
    pub fn requires_device_proof(&self) -> bool {
        matches!(self, HolderBinding::DeviceEd25519(_) | HolderBinding::DeviceP256(_))
    }

    pub(crate) fn tag(&self) -> u8 {
        match self {
            HolderBinding::None => tag::NONE,
            HolderBinding::DeviceEd25519(_) => tag::DEVICE_ED25519,
            HolderBinding::DeviceP256(_) => tag::DEVICE_P256,
            HolderBinding::PhoneHash(_) => tag::PHONE_HASH,
        }
    }

    /// The key or hash bytes that follow the tag on the wire.
    pub(crate) fn body(&self) -> &[u8] {
        match self {
            HolderBinding::None => &[],
            HolderBinding::DeviceEd25519(key) => key,
            HolderBinding::DeviceP256(key) => key,
            HolderBinding::PhoneHash(hash) => hash,
        }
    }
}

/// Salted hash of a phone number for [`HolderBinding::PhoneHash`]: SHA-256(salt ‖ phone).
///
/// The salt is per event, so the same phone yields unrelated hashes across events. Pass the
/// phone in E.164 form (`+4915112345678`) so equal numbers always hash equally.
pub fn phone_hash(salt: &[u8], e164_phone: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(e164_phone.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_device_bindings_require_a_device_proof() {
        assert!(HolderBinding::DeviceEd25519([1; 32]).requires_device_proof());
        assert!(HolderBinding::DeviceP256([2; 33]).requires_device_proof());
        assert!(!HolderBinding::PhoneHash([3; 32]).requires_device_proof());
        assert!(!HolderBinding::None.requires_device_proof());
    }

    #[test]
    fn phone_hash_depends_on_salt_and_phone() {
        let base = phone_hash(b"event-1", "+4915112345678");
        assert_eq!(base, phone_hash(b"event-1", "+4915112345678"));
        assert_ne!(base, phone_hash(b"event-2", "+4915112345678"));
        assert_ne!(base, phone_hash(b"event-1", "+4915112345679"));
    }
}
