//! Money as integer minor units with a currency. No floats anywhere near money (DESIGN §4.5).

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code with the number of minor-unit digits it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency {
    code: [u8; 3],
}

impl Currency {
    pub const KRW: Currency = Currency { code: *b"KRW" };
    pub const USD: Currency = Currency { code: *b"USD" };
    pub const EUR: Currency = Currency { code: *b"EUR" };

    /// Parses an upper-case three-letter code.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let b = code.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(MoneyError::BadCurrency(code.to_owned()));
        }
        Ok(Currency { code: [b[0], b[1], b[2]] })
    }

    pub fn code(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217 minor units).
    pub fn minor_digits(&self) -> u32 {
        match self.code() {
            "KRW" | "JPY" | "VND" | "CLP" | "ISK" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{0}' is not a three-letter upper-case currency code")]
    BadCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
    #[error("amount must not be negative")]
    Negative,
}

/// An amount in minor units (cents, won) of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money { minor, currency })
    }

    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }

    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }

    /// Sums amounts that must share one currency; an empty list sums to zero of `currency`.
    pub fn sum(currency: Currency, items: impl IntoIterator<Item = Money>) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10_i64.pow(digits);
        write!(f, "{}.{:0width$} {}", self.minor / scale, self.minor % scale, self.currency, width = digits as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_different_currencies_is_refused() {
        let a = Money::new(100, Currency::USD).unwrap();
        let b = Money::new(100, Currency::KRW).unwrap();
        assert_eq!(a.checked_add(b), Err(MoneyError::CurrencyMismatch(Currency::USD, Currency::KRW)));
    }

    #[test]
    fn display_uses_minor_digits_of_the_currency() {
        assert_eq!(Money::new(12345, Currency::USD).unwrap().to_string(), "123.45 USD");
        assert_eq!(Money::new(150000, Currency::KRW).unwrap().to_string(), "150000 KRW");
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let a = Money::new(i64::MAX, Currency::EUR).unwrap();
        assert_eq!(a.checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(a.checked_add(Money::new(1, Currency::EUR).unwrap()), Err(MoneyError::Overflow));
    }

    #[test]
    fn currency_codes_are_validated() {
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("US").is_err());
        assert_eq!(Currency::parse("KRW").unwrap(), Currency::KRW);
    }
}
