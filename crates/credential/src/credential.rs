//! A signed credential exactly as issued: payload bytes followed by the signature.
//!
//! The bytes are kept as received, never re-encoded, so the signature is always checked over
//! what the holder actually presented.

use crate::{Payload, Rejection, SIGNATURE_LEN};

/// Upper bound on credential bytes accepted from outside, generous enough for future format
/// versions yet small enough that a hostile scan cannot make a gate allocate much.
pub const MAX_CREDENTIAL_LEN: usize = 1024;

/// A signed credential exactly as issued: payload bytes + signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    bytes: Vec<u8>,
}

impl Credential {
    /// Wraps bytes that `Issuer` just produced; trusted, so no checks.
    pub(crate) fn from_signed_parts(mut payload: Vec<u8>, signature: [u8; SIGNATURE_LEN]) -> Self {
        payload.extend_from_slice(&signature);
        Credential { bytes: payload }
    }

    /// The raw bytes, e.g. for a binary-mode QR code or storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Accepts raw bytes from a scanner or store. Only checks the length is plausible
    /// (at least a version byte plus a signature, at most [`MAX_CREDENTIAL_LEN`]); it does
    /// not verify anything — use [`crate::KeyRing::verify`] for that.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Credential, Rejection> {
        if bytes.len() <= SIGNATURE_LEN || bytes.len() > MAX_CREDENTIAL_LEN {
            return Err(Rejection::Malformed);
        }
        Ok(Credential { bytes })
    }

    /// Decodes the payload WITHOUT checking the signature: for display and diagnostics only,
    /// never for an entry decision.
    pub fn payload_unverified(&self) -> Result<Payload, Rejection> {
        Payload::decode(self.payload_bytes())
    }

    /// The exact payload bytes that were signed.
    pub(crate) fn payload_bytes(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - SIGNATURE_LEN]
    }

    pub(crate) fn signature_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.bytes[self.bytes.len() - SIGNATURE_LEN..].try_into().expect("from_bytes guarantees room for a signature")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_payload;

    #[test]
    fn from_bytes_refuses_implausible_lengths() {
        assert_eq!(Credential::from_bytes(vec![]), Err(Rejection::Malformed));
        assert_eq!(Credential::from_bytes(vec![1; SIGNATURE_LEN]), Err(Rejection::Malformed));
        let too_long = vec![1; MAX_CREDENTIAL_LEN + 1];
        assert_eq!(Credential::from_bytes(too_long), Err(Rejection::Malformed));
        assert!(Credential::from_bytes(vec![1; SIGNATURE_LEN + 1]).is_ok());
    }

    #[test]
    fn payload_unverified_reads_the_payload_before_the_signature() {
        let payload = sample_payload();
        let credential = Credential::from_signed_parts(payload.encode().unwrap(), [0; SIGNATURE_LEN]);
        assert_eq!(credential.payload_unverified(), Ok(payload));
        assert_eq!(credential.signature_bytes(), [0; SIGNATURE_LEN]);
    }
}
