//! The text form of a credential: `ADM1:` followed by base45 of the credential bytes.
//!
//! Base45 output and the prefix use only the QR alphanumeric character set, so the whole text
//! fits the denser alphanumeric QR mode, and scanners that act as keyboards can type it.

use crate::credential::MAX_CREDENTIAL_LEN;
use crate::{Credential, Rejection};

/// Prefix of the text form; the digit names the format version.
pub const TEXT_PREFIX: &str = "ADM1:";

/// Longest base45 body worth decoding (3 characters per 2 bytes).
const MAX_BODY_LEN: usize = MAX_CREDENTIAL_LEN.div_ceil(2) * 3;

impl Credential {
    /// `ADM1:` + base45 of the credential bytes, ready for an alphanumeric-mode QR code.
    pub fn to_text(&self) -> String {
        format!("{TEXT_PREFIX}{}", base45::encode(self.as_bytes()))
    }

    /// Parses the text form without verifying it. Surrounding whitespace and CR/LF are
    /// trimmed (scanners send lines). A prefix such as `ADM2:` is
    /// [`Rejection::UnsupportedVersion`]; any other prefix, invalid or non-canonical base45,
    /// or an implausible length is [`Rejection::Malformed`].
    pub fn from_text(text: &str) -> Result<Credential, Rejection> {
        let text = text.trim();
        let body = match text.strip_prefix(TEXT_PREFIX) {
            Some(body) => body,
            None if names_another_version(text) => return Err(Rejection::UnsupportedVersion),
            None => return Err(Rejection::Malformed),
        };
        if body.len() > MAX_BODY_LEN {
            return Err(Rejection::Malformed);
        }
        let bytes = base45::decode(body).map_err(|_| Rejection::Malformed)?;
        // base45 has a few spellings per byte string (e.g. an over-long final pair);
        // accept only the one we write so every credential has exactly one text form.
        if base45::encode(&bytes) != body {
            return Err(Rejection::Malformed);
        }
        Credential::from_bytes(bytes)
    }
}

/// True for `ADM<digits>:` prefixes other than ours: a credential from another format version.
fn names_another_version(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("ADM") else {
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
