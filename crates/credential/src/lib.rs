//! Admit credentials: the signed ticket a holder presents at the gate.
//!
//! A credential is a compact binary [`Payload`] (see [`payload`] for the exact layout) followed
//! by a 64-byte Ed25519 signature made with the organiser's event key ([`Issuer`]). Gates hold
//! only public keys ([`KeyRing`]): they can verify but never mint. The text form
//! (`ADM1:` + base45) fits QR alphanumeric mode ([`qr`]).
//!
//! Every refusal carries a stable machine code ([`Rejection::code`]). This crate only answers
//! "is this a genuine credential and what does it say"; entry rules (revocation, validity
//! window, session, replay, device proof) belong to the gate layer.
//!
//! Pure code: no IO, no async, no clocks.

mod credential;
mod crockford;
pub mod fuzzing;
mod holder;
mod inspection;
pub mod payload;
pub mod qr;
mod rejection;
mod signing;
mod text;
mod verification;
mod wire;

#[cfg(test)]
mod testing;

pub use credential::{Credential, MAX_CREDENTIAL_LEN};
pub use holder::{HolderBinding, phone_hash};
pub use inspection::{inspection_password, inspection_password_matches, parse_ticket_reference, ticket_reference};
pub use payload::{EncodeError, Payload};
pub use rejection::Rejection;
pub use signing::Issuer;
pub use text::TEXT_PREFIX;
pub use verification::{InvalidPublicKey, KeyRing};

/// Binary format version written as the first payload byte; bumped on any layout change so old
/// gates refuse new credentials with [`Rejection::UnsupportedVersion`] instead of misreading them.
pub const FORMAT_VERSION: u8 = 1;

/// Length of the Ed25519 signature that follows the payload bytes.
pub const SIGNATURE_LEN: usize = 64;
