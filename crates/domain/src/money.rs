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
    #[error("{0} is above the largest amount Admit accepts ({1})")]
    TooLarge(i64, i64),
}

/// An amount in minor units (cents, won) of one currency: never negative, never above
/// [`Money::MAX_MINOR`], and only built through [`Money::new`] (or serde, which checks the
/// same), so every `Money` in the system is in range. Sums and products are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMoney")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// What serde reads before [`Money::new`] checks it.
#[derive(Deserialize)]
struct RawMoney {
    minor: i64,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = MoneyError;
    fn try_from(raw: RawMoney) -> Result<Money, MoneyError> {
        Money::new(raw.minor, raw.currency)
    }
}

impl Money {
    /// The largest amount, in minor units, of any one price or total: 10^15 (ten trillion won,
    /// or ten trillion cents). Far above any real ticket or order, and far enough below
    /// `i64::MAX` that adding a few such amounts cannot overflow unnoticed anyway.
    pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

    pub fn new(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        if minor > Money::MAX_MINOR {
            return Err(MoneyError::TooLarge(minor, Money::MAX_MINOR));
        }
        Ok(Money { minor, currency })
    }

    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// The amount in minor units of its currency.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Money::new(minor, self.currency)
    }

    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Money::new(minor, self.currency)
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
    fn amounts_past_the_bound_are_refused_not_wrapped() {
        assert_eq!(Money::new(i64::MAX, Currency::EUR), Err(MoneyError::TooLarge(i64::MAX, Money::MAX_MINOR)));
        assert_eq!(Money::new(-1, Currency::EUR), Err(MoneyError::Negative));
        let top = Money::new(Money::MAX_MINOR, Currency::EUR).unwrap();
        assert!(matches!(top.checked_mul(2), Err(MoneyError::TooLarge(..))));
        assert_eq!(top.checked_mul(u32::MAX), Err(MoneyError::Overflow));
        assert!(matches!(top.checked_add(Money::new(1, Currency::EUR).unwrap()), Err(MoneyError::TooLarge(..))));
        assert_eq!(top.checked_mul(1), Ok(top));
    }

    #[test]
    fn deserialising_checks_the_amount_like_new_does() {
        let ok: Money = serde_json::from_str(r#"{"minor": 5000, "currency": {"code": [75, 82, 87]}}"#).unwrap();
        assert_eq!(ok, Money::new(5000, Currency::KRW).unwrap());
        assert!(serde_json::from_str::<Money>(r#"{"minor": -1, "currency": {"code": [75, 82, 87]}}"#).is_err());
    }

    #[test]
    fn currency_codes_are_validated() {
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("US").is_err());
        assert_eq!(Currency::parse("KRW").unwrap(), Currency::KRW);
    }
}
