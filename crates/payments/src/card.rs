//! Card details as parsed at the edge: digits only, Luhn-valid, a plausible expiry and CVC.

use serde::Deserialize;

/// How the buyer pays. Later rails (exchange wallet, on-chain) add variants here.
#[derive(Debug, Clone)]
pub enum PaymentMethod {
    Card(CardDetails),
}

/// A validated card. `Debug` masks the number and hides the CVC.
#[derive(Clone, Deserialize)]
#[serde(try_from = "RawCard")]
pub struct CardDetails {
    number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    cvc: String,
}

#[derive(Deserialize)]
struct RawCard {
    number: String,
    exp_month: u8,
    exp_year: u16,
    cvc: String,
}

impl TryFrom<RawCard> for CardDetails {
    type Error = CardError;
    fn try_from(raw: RawCard) -> Result<Self, CardError> {
        CardDetails::parse(&raw.number, raw.exp_month, raw.exp_year, &raw.cvc)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("the card number must be 12 to 19 digits")]
    NumberLength,
    #[error("the card number is not valid (check digit)")]
    Luhn,
    #[error("the expiry month must be 1 to 12")]
    Month,
    #[error("the expiry year must be written with four digits")]
    Year,
    #[error("the security code must be 3 or 4 digits")]
    Cvc,
}

impl CardDetails {
    /// Parses a card number (spaces and dashes allowed) with its expiry and CVC.
    pub fn parse(number: &str, exp_month: u8, exp_year: u16, cvc: &str) -> Result<CardDetails, CardError> {
        let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::NumberLength);
        }
        if !luhn_ok(&digits) {
            return Err(CardError::Luhn);
        }
        if !(1..=12).contains(&exp_month) {
            return Err(CardError::Month);
        }
        if !(2000..=2199).contains(&exp_year) {
            return Err(CardError::Year);
        }
        if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::Cvc);
        }
        Ok(CardDetails { number: digits, exp_month, exp_year, cvc: cvc.to_owned() })
    }

    pub fn number(&self) -> &str {
        &self.number
    }

    /// The security code, for a real acquirer's request; never stored or logged.
    pub fn cvc(&self) -> &str {
        &self.cvc
    }

    /// The last four digits, safe to store and show.
    pub fn last4(&self) -> &str {
        &self.number[self.number.len() - 4..]
    }
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Card(**** {}, {:02}/{})", self.last4(), self.exp_month, self.exp_year)
    }
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if !i.is_multiple_of(2) { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spaced_test_card_numbers() {
        let c = CardDetails::parse("4242 4242 4242 4242", 12, 2030, "123").unwrap();
        assert_eq!(c.last4(), "4242");
    }

    #[test]
    fn rejects_a_number_with_a_wrong_check_digit() {
        assert_eq!(CardDetails::parse("4242424242424241", 12, 2030, "123").unwrap_err(), CardError::Luhn);
    }

    #[test]
    fn rejects_bad_expiry_and_cvc() {
        assert_eq!(CardDetails::parse("4242424242424242", 13, 2030, "123").unwrap_err(), CardError::Month);
        assert_eq!(CardDetails::parse("4242424242424242", 1, 30, "123").unwrap_err(), CardError::Year);
        assert_eq!(CardDetails::parse("4242424242424242", 1, 2030, "12a").unwrap_err(), CardError::Cvc);
        assert_eq!(CardDetails::parse("4242", 1, 2030, "123").unwrap_err(), CardError::NumberLength);
    }

    #[test]
    fn debug_never_shows_the_full_number_or_cvc() {
        let c = CardDetails::parse("4242424242424242", 12, 2030, "987").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("424242424242") && !shown.contains("987"), "{shown}");
    }
}
