//! Whatever a gate scanned, and the one verification every gate path runs on it.
//!
//! A scanned line is either a static credential (`ADM1:`, printed tickets and old phones) or a
//! dynamic presentation (`ADP1:`, a device-bound phone). [`KeyRing::verify_scanned`] checks
//! the issuer's signature, then the holder binding: a device-bound credential must come with a
//! fresh device signature, and a presentation must be over a device-bound credential.
//! Entry rules (revocation, session, validity window, entries left) stay with the gate layer.

use ed25519_dalek::Signature;

use crate::device::device_proof_message;
use crate::presentation::PRESENTATION_PREFIX;
use crate::text::names_another_version;
use crate::{Credential, DeviceKey, KeyRing, Payload, Presentation, Rejection};

/// A decoded, not yet verified scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scanned {
    /// `ADM1:` text: a credential without a device proof.
    Static(Credential),
    /// `ADP1:` text: a credential with a device proof.
    Presented(Presentation),
}

impl Scanned {
    /// Reads one scanned line (surrounding whitespace trimmed). `ADM<n>:` / `ADP<n>:` of a
    /// version this build does not know, before a base45 body, is
    /// [`Rejection::UnsupportedVersion`]; anything else unreadable is [`Rejection::Malformed`].
    pub fn parse(text: &str) -> Result<Scanned, Rejection> {
        let text = text.trim();
        if text.starts_with(PRESENTATION_PREFIX) || names_another_version(text, "ADP") {
            Presentation::from_text(text).map(Scanned::Presented)
        } else {
            Credential::from_text(text).map(Scanned::Static)
        }
    }

    /// A presentation's counter (the phone's clock in seconds when it signed); `None` for a
    /// static credential. Gates remember the last one accepted per ticket and refuse one that
    /// is not newer, so each presentation admits once.
    pub fn counter(&self) -> Option<u32> {
        match self {
            Scanned::Static(_) => None,
            Scanned::Presented(presentation) => Some(presentation.counter),
        }
    }

    /// The credential inside, e.g. to find its key ID before the key ring is complete.
    pub fn credential(&self) -> &Credential {
        match self {
            Scanned::Static(credential) => credential,
            Scanned::Presented(presentation) => &presentation.credential,
        }
    }
}

/// How fresh a device proof must be, in seconds either side of the gate's clock.
///
/// `max_age_s` bounds how long a screenshot of the QR code stays usable; `max_future_s`
/// tolerates phones whose clocks run ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofPolicy {
    pub max_age_s: u32,
    pub max_future_s: u32,
}

impl ProofPolicy {
    /// The same tolerance both ways, as the per-event `proof_window_seconds` sets it.
    pub fn symmetric(window_s: u32) -> ProofPolicy {
        ProofPolicy { max_age_s: window_s, max_future_s: window_s }
    }

    /// Whether a proof signed at device time `counter` is acceptable at gate time `now_s`.
    pub fn is_fresh(&self, counter: u32, now_s: i64) -> bool {
        let counter = i64::from(counter);
        now_s.saturating_sub(i64::from(self.max_age_s)) <= counter
            && counter <= now_s.saturating_add(i64::from(self.max_future_s))
    }
}

/// 30 seconds either way.
impl Default for ProofPolicy {
    fn default() -> Self {
        ProofPolicy::symmetric(30)
    }
}

/// A scan whose signatures all checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub payload: Payload,
    /// True when a fresh device signature by the bound key was checked.
    pub device_proof: bool,
}

impl KeyRing {
    /// Verifies a scan at gate time `now_s` (unix seconds):
    /// - the issuer signature over the exact credential bytes ([`KeyRing::verify`]);
    /// - a static credential that names a device key → [`Rejection::DeviceProofMissing`]
    ///   (never treated as static);
    /// - a presentation over a credential that is not device bound → [`Rejection::Malformed`];
    /// - a device signature that is not the bound key's over (ticket, version, counter) →
    ///   [`Rejection::BadDeviceSignature`];
    /// - a genuine proof whose counter is outside `[now − max_age, now + max_future]` →
    ///   [`Rejection::StaleProof`].
    pub fn verify_scanned(&self, scanned: &Scanned, now_s: i64, policy: &ProofPolicy) -> Result<Verified, Rejection> {
        match scanned {
            Scanned::Static(credential) => {
                let payload = self.verify(credential)?;
                if payload.holder.requires_device_proof() {
                    return Err(Rejection::DeviceProofMissing);
                }
                Ok(Verified { payload, device_proof: false })
            }
            Scanned::Presented(presentation) => {
                let payload = self.verify_presentation(presentation)?;
                if !policy.is_fresh(presentation.counter, now_s) {
                    return Err(Rejection::StaleProof);
                }
                Ok(Verified { payload, device_proof: true })
            }
        }
    }

    /// Both signatures of a presentation: the issuer's over the credential bytes and the bound
    /// device's over (ticket, version, counter).
    ///
    /// With an Ed25519 phone key both are Ed25519, and one `verify_batch` equation checks them
    /// together, about a fifth less CPU than two single checks (docs/PERFORMANCE.md). A batch
    /// check is as hard to forge as single ones, but it is not `verify_strict`: a signature whose
    /// R was shifted by a small-torsion point (a re-spelling of a genuine signature, over the same
    /// ticket, version and counter, so it buys no entry and no time) may pass it. When the batch
    /// fails, the single strict checks run to name the reason.
    fn verify_presentation(&self, presentation: &Presentation) -> Result<Payload, Rejection> {
        let credential = &presentation.credential;
        let payload = self.payload_of(credential)?;
        let message = device_proof_message(payload.ticket_id, payload.ticket_version, presentation.counter);
        if let Some(Ok(DeviceKey::Ed25519(device))) = DeviceKey::from_binding(&payload.holder) {
            let issuer_key = self.key(payload.key_id)?;
            let signatures = [
                Signature::from_bytes(&credential.signature_bytes()),
                Signature::from_bytes(&presentation.device_signature),
            ];
            let messages: [&[u8]; 2] = [credential.payload_bytes(), &message];
            if ed25519_dalek::verify_batch(&messages, &signatures, &[*issuer_key, device]).is_ok() {
                return Ok(payload);
            }
        }
        let payload = self.verify(credential)?;
        let device_key = DeviceKey::from_binding(&payload.holder).ok_or(Rejection::Malformed)??;
        device_key.verify(&message, &presentation.device_signature)?;
        Ok(payload)
    }

    /// [`Scanned::parse`] then [`KeyRing::verify_scanned`]: what a gate does with a line.
    pub fn verify_scanned_text(&self, text: &str, now_s: i64, policy: &ProofPolicy) -> Result<Verified, Rejection> {
        self.verify_scanned(&Scanned::parse(text)?, now_s, policy)
    }
}

#[cfg(test)]
mod tests;
