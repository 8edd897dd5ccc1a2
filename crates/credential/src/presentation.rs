//! A dynamic presentation: what a device-bound phone shows at the gate instead of the bare
//! credential, refreshed every few seconds.
//!
//! Binary layout (integers big-endian):
//!
//! ```text
//! credential_len    u16
//! credential        credential_len bytes (payload ‖ issuer signature, exactly as issued)
//! counter           u32    device unix time in whole seconds when it signed
//! device_signature  64 B   over device_proof_message(ticket_id, ticket_version, counter)
//! ```
//!
//! Text form: `ADP1:` + base45 of those bytes (QR alphanumeric mode, like `ADM1:`). Decoding
//! is strict: no trailing bytes, no second base45 spelling, lengths bounded before decoding.

use crate::device::DEVICE_SIGNATURE_LEN;
use crate::text::{decode_body, max_body_len};
use crate::wire::{Reader, Writer};
use crate::{Credential, MAX_CREDENTIAL_LEN, Rejection};

/// Prefix of a presentation's text form; the digit names the presentation format version.
pub const PRESENTATION_PREFIX: &str = "ADP1:";

/// Largest presentation in bytes: the largest credential plus length, counter and signature.
pub const MAX_PRESENTATION_LEN: usize = 2 + MAX_CREDENTIAL_LEN + 4 + DEVICE_SIGNATURE_LEN;

/// A credential plus the holder device's fresh signature over (ticket, version, counter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    /// The device-bound credential, byte for byte as issued.
    pub credential: Credential,
    /// The device's unix time in whole seconds when it signed.
    pub counter: u32,
    /// Ed25519, or P-256 r ‖ s (low s), over [`crate::device_proof_message`].
    pub device_signature: [u8; DEVICE_SIGNATURE_LEN],
}

impl Presentation {
    /// The binary form (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let credential = self.credential.as_bytes();
        let len = u16::try_from(credential.len()).expect("credentials are at most MAX_CREDENTIAL_LEN bytes");
        let mut out = Writer(Vec::with_capacity(2 + credential.len() + 4 + DEVICE_SIGNATURE_LEN));
        out.bytes(&len.to_be_bytes());
        out.bytes(credential);
        out.bytes(&self.counter.to_be_bytes());
        out.bytes(&self.device_signature);
        out.0
    }

    /// Strict inverse of [`Presentation::to_bytes`]; any defect is [`Rejection::Malformed`].
    /// Nothing is verified here.
    pub fn from_bytes(bytes: &[u8]) -> Result<Presentation, Rejection> {
        if bytes.len() > MAX_PRESENTATION_LEN {
            return Err(Rejection::Malformed);
        }
        let mut input = Reader::new(bytes);
        let len = usize::from(input.u16()?);
        let credential = Credential::from_bytes(input.take(len)?.to_vec())?;
        let counter = input.u32()?;
        let device_signature = input.array()?;
        input.finish()?;
        Ok(Presentation { credential, counter, device_signature })
    }

    /// `ADP1:` + base45 of the binary form, for an alphanumeric-mode QR code.
    pub fn to_text(&self) -> String {
        format!("{PRESENTATION_PREFIX}{}", base45::encode(self.to_bytes()))
    }

    /// Parses the text form without verifying it; surrounding whitespace is trimmed. Another
    /// `ADP<n>:` version before a base45 body is [`Rejection::UnsupportedVersion`], anything
    /// else that is not canonical `ADP1:` text is [`Rejection::Malformed`].
    pub fn from_text(text: &str) -> Result<Presentation, Rejection> {
        let text = text.trim();
        let body = match text.strip_prefix(PRESENTATION_PREFIX) {
            Some(body) => body,
            None => return Err(crate::text::other_version(text, "ADP")),
        };
        Presentation::from_bytes(&decode_body(body, max_body_len(MAX_PRESENTATION_LEN))?)
    }
}

#[cfg(test)]
mod tests;
