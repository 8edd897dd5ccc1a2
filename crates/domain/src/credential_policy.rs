//! An event's credential policy: whether static (printed, screenshot-able) credentials are
//! accepted, how often the phone refreshes its dynamic QR code, and how old or early a device
//! proof may be at the gate.
//!
//! The organiser sets it per event; the server's online check and the gate terminals apply it.

use serde::{Deserialize, Serialize};

/// Bounds on the phone's QR refresh interval, in seconds.
pub const ROTATION_SECONDS: std::ops::RangeInclusive<u32> = 2..=300;
/// Longest accepted proof window, in seconds.
pub const MAX_PROOF_WINDOW_SECONDS: u32 = 600;

/// Per-event rules for the credentials shown at the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialPolicy {
    /// Whether a static credential (`ADM1:`, not device bound: printed or PDF tickets) admits.
    /// Device-bound credentials always need a fresh device proof, whatever this says.
    pub static_accepted: bool,
    /// How often the phone re-signs its QR code, in seconds (2 to 300).
    pub rotation_seconds: u32,
    /// How far a device proof's time may lie behind or ahead of the gate's clock, in seconds
    /// (at least `rotation_seconds`, at most 600).
    pub proof_window_seconds: u32,
}

/// Static credentials accepted, a new code every 10 s, proofs good for 30 s either way.
impl Default for CredentialPolicy {
    fn default() -> Self {
        CredentialPolicy { static_accepted: true, rotation_seconds: 10, proof_window_seconds: 30 }
    }
}

/// Why a credential policy cannot be used; the message is fit for the organiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCredentialPolicy {
    #[error("rotation_seconds must be 2 to 300.")]
    Rotation,
    #[error(
        "proof_window_seconds must be at least rotation_seconds (a code must stay valid until the next one) and at most 600."
    )]
    Window,
}

impl CredentialPolicy {
    /// Checks the bounds: rotation 2..=300 s; rotation <= window <= 600 s, so a code shown
    /// just before the phone refreshes is still accepted.
    pub fn validate(&self) -> Result<(), InvalidCredentialPolicy> {
        if !ROTATION_SECONDS.contains(&self.rotation_seconds) {
            return Err(InvalidCredentialPolicy::Rotation);
        }
        if self.proof_window_seconds < self.rotation_seconds || self.proof_window_seconds > MAX_PROOF_WINDOW_SECONDS {
            return Err(InvalidCredentialPolicy::Window);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rotation_seconds: u32, proof_window_seconds: u32) -> CredentialPolicy {
        CredentialPolicy { static_accepted: false, rotation_seconds, proof_window_seconds }
    }

    #[test]
    fn the_default_accepts_static_codes_rotates_every_ten_seconds_and_allows_thirty() {
        let default = CredentialPolicy::default();
        assert_eq!(default, CredentialPolicy { static_accepted: true, rotation_seconds: 10, proof_window_seconds: 30 });
        assert_eq!(default.validate(), Ok(()));
    }

    #[test]
    fn rotation_must_be_two_to_three_hundred_seconds() {
        assert_eq!(policy(1, 30).validate(), Err(InvalidCredentialPolicy::Rotation));
        assert_eq!(policy(2, 2).validate(), Ok(()));
        assert_eq!(policy(300, 300).validate(), Ok(()));
        assert_eq!(policy(301, 600).validate(), Err(InvalidCredentialPolicy::Rotation));
    }

    #[test]
    fn the_window_must_cover_a_rotation_and_stay_within_ten_minutes() {
        assert_eq!(policy(10, 9).validate(), Err(InvalidCredentialPolicy::Window));
        assert_eq!(policy(10, 10).validate(), Ok(()));
        assert_eq!(policy(10, 600).validate(), Ok(()));
        assert_eq!(policy(10, 601).validate(), Err(InvalidCredentialPolicy::Window));
    }
}
