//! Admit credentials: the signed ticket a holder presents at the gate.
//!
//! A credential is a compact binary [`Payload`] (see [`payload`] for the exact layout) followed
//! by a 64-byte Ed25519 signature made with the organiser's event key ([`Issuer`]). Gates hold
//! only public keys ([`KeyRing`]): they can verify but never mint. The text form
//! (`ADM1:` + base45) fits QR alphanumeric mode ([`qr`]).
//!
//! A device-bound credential names the phone's public key ([`DeviceKey`]); the phone then shows
//! a [`Presentation`] (`ADP1:` + base45): the credential plus its own signature over
//! [`device_proof_message`] (ticket, version, and its clock in seconds), refreshed every few
//! seconds. [`Scanned::parse`] reads either form and [`KeyRing::verify_scanned`] checks both
//! signatures and the proof's freshness ([`ProofPolicy`]) against a clock the caller passes in.
//!
//! Every refusal carries a stable machine code ([`Rejection::code`]). This crate only answers
//! "is this a genuine credential, shown by its holder, and what does it say"; entry rules
//! (revocation, validity window, session, replay) belong to the gate layer.
//!
//! Pure code: no IO, no async, no clocks.

mod credential;
mod crockford;
mod device;
mod device_signer;
#[cfg(feature = "testing")]
pub mod fuzzing;
mod holder;
mod inspection;
pub mod payload;
mod presentation;
pub mod qr;
mod rejection;
mod scanned;
mod signing;
mod text;
mod verification;
mod wire;

#[cfg(test)]
mod testing;

pub use credential::{Credential, MAX_CREDENTIAL_LEN};
pub use device::{
    DEVICE_PROOF_CONTEXT, DEVICE_PROOF_MESSAGE_LEN, DEVICE_SIGNATURE_LEN, DeviceAlgorithm, DeviceKey, InvalidDeviceKey,
    UnknownAlgorithm, device_proof_message,
};
pub use device_signer::DeviceSigner;
pub use holder::{HolderBinding, phone_hash};
pub use inspection::{inspection_password, inspection_password_matches, parse_ticket_reference, ticket_reference};
pub use payload::{EncodeError, Payload};
pub use presentation::{MAX_PRESENTATION_LEN, PRESENTATION_PREFIX, Presentation};
pub use rejection::Rejection;
pub use scanned::{ProofPolicy, Scanned, Verified};
pub use signing::Issuer;
pub use text::TEXT_PREFIX;
pub use verification::{InvalidPublicKey, KeyRing};

/// Binary format version written as the first payload byte; bumped on any layout change so old
/// gates refuse new credentials with [`Rejection::UnsupportedVersion`] instead of misreading them.
pub const FORMAT_VERSION: u8 = 1;

/// Length of the Ed25519 signature that follows the payload bytes.
pub const SIGNATURE_LEN: usize = 64;
