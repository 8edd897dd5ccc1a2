//! Why a credential was refused by the codec or the verifier.
//!
//! Gate and server code turn these into entry decisions and logs, so each reason has a stable
//! machine code that never changes once shipped.

/// Why a credential was refused by the codec/verifier. Each has a stable machine code.
///
/// The variants are deliberately coarse: a scanner learns nothing useful for forgery from
/// finer distinctions, and staff only need to know which of these things went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Rejection {
    /// Not a credential of any format we know: bad prefix, bad base45, wrong lengths,
    /// bad UTF-8, unknown holder tag, trailing bytes, an impossible validity window.
    #[error("credential is malformed")]
    Malformed,
    /// A credential from a format version this build does not understand: another version's
    /// text prefix before a base45 body, or a payload of another version byte whose issuer
    /// signature checks out (so it is a credential, not noise). Kept apart from
    /// [`Rejection::Malformed`] so a fleet running old gate software is noticed, not ignored.
    #[error("credential format version is not supported")]
    UnsupportedVersion,
    /// Signed with a key ID that this key ring does not hold (other event, or keys not synced).
    #[error("credential is signed with an unknown key")]
    UnknownKey,
    /// The signature does not match the exact bytes received: forged or corrupted.
    #[error("credential signature is not valid")]
    BadSignature,
    /// The credential is bound to a device key but was shown without a device signature
    /// (a screenshot or print of the bare credential): never treated as static.
    #[error("credential is bound to a device but no device proof was presented")]
    DeviceProofMissing,
    /// The device signature is not the bound key's signature over this ticket, version and
    /// counter: a copy on another phone, or tampering.
    #[error("device signature is not valid")]
    BadDeviceSignature,
    /// A genuine device proof, but signed too long ago (a replayed screenshot) or too far in
    /// the future (a phone clock far ahead).
    #[error("device proof is outside the accepted time window")]
    StaleProof,
}

impl Rejection {
    /// Stable machine code for logs, APIs and gate displays.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::UnsupportedVersion => "unsupported_version",
            Rejection::UnknownKey => "unknown_key",
            Rejection::BadSignature => "bad_signature",
            Rejection::DeviceProofMissing => "device_proof_missing",
            Rejection::BadDeviceSignature => "bad_device_signature",
            Rejection::StaleProof => "stale_proof",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rejection;

    #[test]
    fn every_rejection_has_a_distinct_snake_case_code() {
        let all = [
            Rejection::Malformed,
            Rejection::UnsupportedVersion,
            Rejection::UnknownKey,
            Rejection::BadSignature,
            Rejection::DeviceProofMissing,
            Rejection::BadDeviceSignature,
            Rejection::StaleProof,
        ];
        let codes: Vec<&str> = all.iter().map(Rejection::code).collect();
        assert_eq!(
            codes,
            [
                "malformed",
                "unsupported_version",
                "unknown_key",
                "bad_signature",
                "device_proof_missing",
                "bad_device_signature",
                "stale_proof"
            ]
        );
    }
}
