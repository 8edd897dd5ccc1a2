//! Crockford base32 digits: the alphabet for codes that people read aloud and type.
//!
//! No I, L, O or U, so nothing is confused with 1, 0 or V; when reading input back,
//! I and L are taken as 1, O as 0, and lower case as upper case.

/// The 32 digits in value order.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The digit for a 5-bit value (higher bits are ignored).
pub(crate) fn digit(value: u64) -> char {
    char::from(ALPHABET[(value & 31) as usize])
}

/// The value of a typed digit, forgiving case and the look-alike letters.
pub(crate) fn value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET.iter().position(|&d| char::from(d) == c).map(|v| v as u8)
}

/// Separators people add or drop when copying codes.
pub(crate) fn is_separator(c: char) -> bool {
    c == '-' || c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_digit_reads_back_as_its_value() {
        for v in 0..32u64 {
            let d = digit(v);
            assert_eq!(value(d), Some(v as u8));
            assert_eq!(value(d.to_ascii_lowercase()), Some(v as u8));
        }
    }

    #[test]
    fn look_alikes_are_forgiven_and_u_is_refused() {
        assert_eq!(value('o'), Some(0));
        assert_eq!(value('I'), Some(1));
        assert_eq!(value('l'), Some(1));
        assert_eq!(value('U'), None);
        assert_eq!(value('*'), None);
    }
}
