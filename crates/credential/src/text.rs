//! The text form of a credential: `ADM1:` followed by base45 of the credential bytes.
//!
//! Base45 output and the prefix use only the QR alphanumeric character set, so the whole text
//! fits the denser alphanumeric QR mode, and scanners that act as keyboards can type it.

use crate::credential::MAX_CREDENTIAL_LEN;
use crate::{Credential, Rejection};

/// Prefix of the text form; the digit names the format version.
pub const TEXT_PREFIX: &str = "ADM1:";

/// Longest base45 body worth decoding (3 characters per 2 bytes).
const MAX_BODY_LEN: usize = max_body_len(MAX_CREDENTIAL_LEN);

/// Longest base45 text of `max_bytes` bytes.
pub(crate) const fn max_body_len(max_bytes: usize) -> usize {
    max_bytes.div_ceil(2) * 3
}

impl Credential {
    /// `ADM1:` + base45 of the credential bytes, ready for an alphanumeric-mode QR code.
    pub fn to_text(&self) -> String {
        format!("{TEXT_PREFIX}{}", base45::encode(self.as_bytes()))
    }

    /// Parses the text form without verifying it. Surrounding whitespace and CR/LF are
    /// trimmed (scanners send lines). A prefix such as `ADM2:` before a base45 body is
    /// [`Rejection::UnsupportedVersion`]; any other prefix, invalid or non-canonical base45,
    /// or an implausible length is [`Rejection::Malformed`].
    pub fn from_text(text: &str) -> Result<Credential, Rejection> {
        let text = text.trim();
        let body = match text.strip_prefix(TEXT_PREFIX) {
            Some(body) => body,
            None => return Err(other_version(text, "ADM")),
        };
        Credential::from_bytes(decode_body(body, MAX_BODY_LEN)?)
    }
}

/// Decodes the base45 after a text prefix, refusing bodies longer than `max_len` characters
/// before decoding, and any spelling other than the canonical one.
pub(crate) fn decode_body(body: &str, max_len: usize) -> Result<Vec<u8>, Rejection> {
    if body.len() > max_len {
        return Err(Rejection::Malformed);
    }
    let bytes = base45::decode(body).map_err(|_| Rejection::Malformed)?;
    // base45 has a few spellings per byte string (e.g. an over-long final pair);
    // accept only the one we write so every byte string has exactly one text form.
    if base45::encode(&bytes) != body {
        return Err(Rejection::Malformed);
    }
    Ok(bytes)
}

/// The refusal of text that does not start with our prefix: another version's prefix before a
/// well-formed (canonical, non-empty, not over-long) base45 body is
/// [`Rejection::UnsupportedVersion`]; anything else is [`Rejection::Malformed`].
pub(crate) fn other_version(text: &str, family: &str) -> Rejection {
    if !names_another_version(text, family) {
        return Rejection::Malformed;
    }
    let body = text.split_once(':').map_or("", |(_, body)| body);
    match decode_body(body, max_body_len(crate::MAX_PRESENTATION_LEN)) {
        Ok(bytes) if !bytes.is_empty() => Rejection::UnsupportedVersion,
        _ => Rejection::Malformed,
    }
}

/// True for `<family><digits>:` prefixes other than ours (family `ADM` or `ADP`): a code from
/// another format version.
pub(crate) fn names_another_version(text: &str, family: &str) -> bool {
    let Some(rest) = text.strip_prefix(family) else {
        return false;
    };
    let Some((digits, _)) = rest.split_once(':') else {
        return false;
    };
    !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The QR alphanumeric-mode character set.
#[cfg(test)]
pub(crate) fn is_qr_alphanumeric(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Issuer;
    use crate::testing::sample_payload;

    fn sample_credential() -> Credential {
        Issuer::from_secret(7, &[1; 32]).issue(sample_payload()).unwrap()
    }

    #[test]
    fn text_form_is_prefixed_and_qr_alphanumeric() {
        let text = sample_credential().to_text();
        assert!(text.starts_with("ADM1:"));
        assert!(text.chars().all(is_qr_alphanumeric), "{text}");
    }

    #[test]
    fn text_round_trips_and_tolerates_scanner_line_endings() {
        let credential = sample_credential();
        let line = format!("  {}\r\n", credential.to_text());
        assert_eq!(Credential::from_text(&line), Ok(credential));
    }

    #[test]
    fn a_wrong_prefix_is_malformed() {
        let body = sample_credential().to_text()[TEXT_PREFIX.len()..].to_string();
        for text in [body.clone(), format!("XYZ1:{body}"), format!("adm1:{body}"), String::new()] {
            assert_eq!(Credential::from_text(&text), Err(Rejection::Malformed), "{text}");
        }
    }

    #[test]
    fn another_version_prefix_is_unsupported_version() {
        let body = &sample_credential().to_text()[TEXT_PREFIX.len()..];
        let text = format!("ADM2:{body}");
        assert_eq!(Credential::from_text(&text), Err(Rejection::UnsupportedVersion));
    }

    #[test]
    fn another_version_prefix_before_something_that_is_not_base45_is_malformed() {
        for text in ["ADM7:", "ADM2:hello, gate", "ADM2:!!!!", "ADP3:ZZ"] {
            assert_eq!(Credential::from_text(text), Err(Rejection::Malformed), "{text}");
        }
    }

    #[test]
    fn invalid_base45_is_malformed() {
        let text = sample_credential().to_text();
        assert_eq!(Credential::from_text(&format!("{text}a")), Err(Rejection::Malformed));
        let lower = text.to_lowercase().replacen("adm1:", "ADM1:", 1);
        assert_eq!(Credential::from_text(&lower), Err(Rejection::Malformed));
    }

    #[test]
    fn non_canonical_base45_is_malformed() {
        let even = Credential::from_bytes(vec![1; 100]).unwrap().to_text();
        // A final pair "ZZ" is 35 + 35 * 45 = 1610, which a lenient decoder truncates to one
        // byte (0x4A, canonically "T1"); the same bytes must not have two text forms.
        assert!(Credential::from_text(&format!("{even}T1")).is_ok());
        assert_eq!(Credential::from_text(&format!("{even}ZZ")), Err(Rejection::Malformed));
    }

    #[test]
    fn an_oversized_text_is_refused_before_decoding() {
        let text = format!("{TEXT_PREFIX}{}", "0".repeat(MAX_BODY_LEN + 3));
        assert_eq!(Credential::from_text(&text), Err(Rejection::Malformed));
    }
}
