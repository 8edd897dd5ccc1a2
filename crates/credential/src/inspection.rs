//! Manual inspection (flow A): a ticket reference and a short password staff can check by eye.
//!
//! When a QR code cannot be scanned, the holder reads out the reference (the inspection ID)
//! and the app shows an 8-character password derived with HMAC-SHA256 from the event's
//! inspection key, so staff with that key can confirm it without any network.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crockford;

/// Domain separation, so an inspection key can never be confused with another HMAC use.
const PASSWORD_CONTEXT: &[u8] = b"admit/inspection-password/v1";
/// 8 digits of 5 bits = 40 bits of the HMAC.
const PASSWORD_LEN: usize = 8;
/// 64 bits need 13 base32 digits (the first carries only 4 bits).
const REFERENCE_DIGITS: usize = 13;

/// Inspection password (flow A): 8 Crockford base32 characters derived with HMAC-SHA256
/// from a per-event inspection key and (ticket_id, version), shown to staff. A re-issued
/// ticket (new version) gets a new password, so an old screenshot stops matching.
pub fn inspection_password(inspection_key: &[u8; 32], ticket_id: u64, ticket_version: u32) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(inspection_key).expect("HMAC accepts keys of any length");
    mac.update(PASSWORD_CONTEXT);
    mac.update(&ticket_id.to_be_bytes());
    mac.update(&ticket_version.to_be_bytes());
    let tag = mac.finalize().into_bytes();
    let bits = tag[..5].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (0..PASSWORD_LEN).map(|i| crockford::digit(bits >> (5 * (PASSWORD_LEN - 1 - i)))).collect()
}

/// Checks a password as typed by staff: case, dashes, spaces and the look-alikes
/// O/I/L are forgiven. Compares without early exit.
pub fn inspection_password_matches(
    inspection_key: &[u8; 32],
    ticket_id: u64,
    ticket_version: u32,
    typed: &str,
) -> bool {
    let Some(typed) = canonical_digits(typed) else {
        return false;
    };
    let expected = inspection_password(inspection_key, ticket_id, ticket_version);
    typed.len() == expected.len() && typed.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Human-readable ticket reference (used as the inspection ID): `T-` followed by the 13
/// Crockford base32 digits of `ticket_id`, most significant first, grouped by four from the
/// left: `T-XXXX-XXXX-XXXX-X`.
pub fn ticket_reference(ticket_id: u64) -> String {
    let mut out = String::with_capacity(2 + REFERENCE_DIGITS + 3);
    out.push_str("T-");
    for i in 0..REFERENCE_DIGITS {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(crockford::digit(ticket_id >> (5 * (REFERENCE_DIGITS - 1 - i))));
    }
    out
}

/// Reads a reference back, case-insensitively, with or without dashes or the `T` prefix,
/// forgiving O/I/L. `None` if it is not exactly 13 digits or exceeds 64 bits.
pub fn parse_ticket_reference(s: &str) -> Option<u64> {
    let digits = canonical_digits(s)?;
    let digits = match digits.len() {
        n if n == REFERENCE_DIGITS + 1 => digits.strip_prefix('T')?,
        REFERENCE_DIGITS => digits.as_str(),
        _ => return None,
    };
    let mut value = 0u64;
    for (i, c) in digits.chars().enumerate() {
        let digit = crockford::value(c)?;
        if i == 0 && digit > 0xF {
            return None; // would overflow 64 bits
        }
        value = (value << 5) | u64::from(digit);
    }
    Some(value)
}

/// Upper-cased digits without separators, look-alikes mapped; `None` on any other character.
fn canonical_digits(s: &str) -> Option<String> {
    s.chars()
        .filter(|&c| !crockford::is_separator(c))
        .map(|c| crockford::value(c).map(|v| crockford::digit(u64::from(v))))
        .collect()
}

#[cfg(test)]
mod tests;
