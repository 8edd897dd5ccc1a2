//! The credential payload and its compact, canonical binary encoding.
//!
//! Layout (all integers big-endian, lengths are one unsigned byte):
//!
//! ```text
//! version        u8        FORMAT_VERSION (1)
//! key_id         u32
//! ticket_id      u64
//! ticket_version u32
//! session_id     u64
//! seat           u8 len + UTF-8   (len <= 64, "" for general admission)
//! grade          u8 len + UTF-8   (len <= 32)
//! valid_from     i64              unix seconds
//! valid_until    i64              unix seconds, >= valid_from
//! holder         u8 tag + body    0 none | 1 Ed25519 key 32 B | 2 P-256 SEC1 compressed 33 B
//!                                 | 3 phone hash 32 B
//! reserved       u8 len + bytes   (len <= 64)
//! ```
//!
//! The 64-byte signature follows the payload in a [`crate::Credential`]. Decoding is strict
//! (no trailing bytes, no over-long fields, no unknown tags), so each payload has exactly one
//! encoding and `decode(b).encode() == b` for every accepted `b`.

use crate::holder::tag;
use crate::wire::{Reader, Writer};
use crate::{FORMAT_VERSION, HolderBinding, Rejection};

/// Longest seat label in bytes; keeps the QR code small enough to scan quickly.
pub const MAX_SEAT_LEN: usize = 64;
/// Longest grade code in bytes.
pub const MAX_GRADE_LEN: usize = 32;
/// Longest user-defined reserved area in bytes.
pub const MAX_RESERVED_LEN: usize = 64;
/// Bytes of the fixed-size fields plus the four length/tag bytes.
pub const MIN_ENCODED_LEN: usize = 1 + 4 + 8 + 4 + 8 + 1 + 1 + 8 + 8 + 1 + 1;
/// Largest possible encoded payload.
pub const MAX_ENCODED_LEN: usize = MIN_ENCODED_LEN + MAX_SEAT_LEN + MAX_GRADE_LEN + 33 + MAX_RESERVED_LEN;

/// What a credential asserts: which ticket (and which re-issue of it), for which session and
/// seat, when, and who may present it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// ID of the organiser key that signs this credential; set by [`crate::Issuer::issue`].
    pub key_id: u32,
    pub ticket_id: u64,
    /// Bumped on every re-issue so older credentials of the same ticket can be revoked.
    pub ticket_version: u32,
    pub session_id: u64,
    /// Seat label, "" for a general-admission unit; at most 64 bytes UTF-8.
    pub seat: String,
    /// Grade code, e.g. "VIP"; at most 32 bytes UTF-8.
    pub grade: String,
    /// Unix seconds.
    pub valid_from: i64,
    /// Unix seconds, must be >= `valid_from`.
    pub valid_until: i64,
    pub holder: HolderBinding,
    /// User-defined reserved area, at most 64 bytes.
    pub reserved: Vec<u8>,
}

/// Why a payload could not be encoded; these are caller bugs caught before signing.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The named field exceeds its byte limit.
    #[error("payload field `{0}` is too long")]
    FieldTooLong(&'static str),
    /// `valid_until` is before `valid_from`.
    #[error("payload validity window ends before it starts")]
    InvalidWindow,
}

impl Payload {
    /// Compact binary form, first byte [`FORMAT_VERSION`]; this is what gets signed.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        check_len("seat", self.seat.len(), MAX_SEAT_LEN)?;
        check_len("grade", self.grade.len(), MAX_GRADE_LEN)?;
        check_len("reserved", self.reserved.len(), MAX_RESERVED_LEN)?;
        if self.valid_until < self.valid_from {
            return Err(EncodeError::InvalidWindow);
        }
        let mut out = Writer(Vec::with_capacity(MAX_ENCODED_LEN));
        out.u8(FORMAT_VERSION);
        out.bytes(&self.key_id.to_be_bytes());
        out.bytes(&self.ticket_id.to_be_bytes());
        out.bytes(&self.ticket_version.to_be_bytes());
        out.bytes(&self.session_id.to_be_bytes());
        out.short_bytes(self.seat.as_bytes());
        out.short_bytes(self.grade.as_bytes());
        out.bytes(&self.valid_from.to_be_bytes());
        out.bytes(&self.valid_until.to_be_bytes());
        out.u8(self.holder.tag());
        out.bytes(self.holder.body());
        out.short_bytes(&self.reserved);
        Ok(out.0)
    }

    /// Strict inverse of [`Payload::encode`]. An unknown first byte is
    /// [`Rejection::UnsupportedVersion`] (which [`crate::KeyRing::verify`] keeps only for a
    /// genuinely signed credential, and turns into [`Rejection::Malformed`] for other bytes);
    /// every other defect is [`Rejection::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Payload, Rejection> {
        let mut input = Reader::new(bytes);
        if input.u8()? != FORMAT_VERSION {
            return Err(Rejection::UnsupportedVersion);
        }
        let payload = Payload {
            key_id: input.u32()?,
            ticket_id: input.u64()?,
            ticket_version: input.u32()?,
            session_id: input.u64()?,
            seat: utf8(input.short_bytes(MAX_SEAT_LEN)?)?,
            grade: utf8(input.short_bytes(MAX_GRADE_LEN)?)?,
            valid_from: input.i64()?,
            valid_until: input.i64()?,
            holder: holder(&mut input)?,
            reserved: input.short_bytes(MAX_RESERVED_LEN)?.to_vec(),
        };
        input.finish()?;
        if payload.valid_until < payload.valid_from {
            return Err(Rejection::Malformed);
        }
        Ok(payload)
    }
}

fn check_len(field: &'static str, len: usize, max: usize) -> Result<(), EncodeError> {
    if len > max { Err(EncodeError::FieldTooLong(field)) } else { Ok(()) }
}

fn utf8(bytes: &[u8]) -> Result<String, Rejection> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Rejection::Malformed)
}

fn holder(input: &mut Reader<'_>) -> Result<HolderBinding, Rejection> {
    Ok(match input.u8()? {
        tag::NONE => HolderBinding::None,
        tag::DEVICE_ED25519 => HolderBinding::DeviceEd25519(input.array()?),
        tag::DEVICE_P256 => HolderBinding::DeviceP256(input.array()?),
        tag::PHONE_HASH => HolderBinding::PhoneHash(input.array()?),
        _ => return Err(Rejection::Malformed),
    })
}

#[cfg(test)]
mod tests;
