//! Amounts of any asset Admit handles, next to each other: fiat currencies in minor units (won,
//! cents) and crypto assets in their base units (an 18-decimal token's smallest unit, 10^-18 of
//! one). `Money` stays the fiat type of the sale (i64 minor units, what the stores keep);
//! `Amount` is what a wallet, a ledger or an exchange rate works in: u128 base units, so
//! 10^18 base units per coin still leave room for 10^20 coins. Integers only, every operation
//! checked (DESIGN §4.5).

use crate::money::{Currency, Money};
use std::fmt;

/// Most decimals an asset may have: 10^24 base units per whole unit still leaves 10^14 whole
/// units in a u128.
pub const MAX_DECIMALS: u8 = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("'{0}' is not an asset code (2 to 8 upper-case letters or digits)")]
    BadCode(String),
    #[error("an asset has at most {MAX_DECIMALS} decimals, not {0}")]
    TooManyDecimals(u8),
    #[error("cannot combine {0} with {1}")]
    AssetMismatch(Asset, Asset),
    #[error("amount out of range")]
    Overflow,
    #[error("'{0}' is not a non-negative decimal number")]
    BadNumber(String),
    #[error("{asset} has {decimals} decimals; '{text}' has more")]
    TooPrecise { text: String, asset: Asset, decimals: u8 },
    #[error("{0} is not a fiat currency")]
    NotFiat(Asset),
}

/// What an amount counts: a fiat currency (ISO 4217, with its minor-unit digits) or a crypto
/// asset (its ticker and the decimals of its base unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Asset {
    code: [u8; 8],
    len: u8,
    decimals: u8,
    fiat: bool,
}

impl Asset {
    /// A fiat currency, with its ISO 4217 minor-unit digits.
    pub fn fiat(currency: Currency) -> Asset {
        let mut code = [0u8; 8];
        code[..3].copy_from_slice(currency.code().as_bytes());
        // minor_digits() is 0, 2 or 3.
        let decimals = u8::try_from(currency.minor_digits()).unwrap_or(2);
        Asset { code, len: 3, decimals, fiat: true }
    }

    /// A crypto asset: `code` of 2–8 upper-case letters or digits, `decimals` of its base unit.
    pub fn crypto(code: &str, decimals: u8) -> Result<Asset, AmountError> {
        let b = code.as_bytes();
        if !(2..=8).contains(&b.len()) || !b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err(AmountError::BadCode(code.to_owned()));
        }
        if decimals > MAX_DECIMALS {
            return Err(AmountError::TooManyDecimals(decimals));
        }
        let mut bytes = [0u8; 8];
        bytes[..b.len()].copy_from_slice(b);
        // Checked above: 2..=8 bytes.
        Ok(Asset { code: bytes, len: b.len() as u8, decimals, fiat: false })
    }

    pub fn code(&self) -> &str {
        // Built only from ASCII letters and digits.
        std::str::from_utf8(&self.code[..usize::from(self.len)]).unwrap_or("?")
    }

    /// Digits after the decimal point: base units per whole unit = 10^decimals.
    pub fn decimals(&self) -> u8 {
        self.decimals
    }

    pub fn is_fiat(&self) -> bool {
        self.fiat
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A non-negative number of base units of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    units: u128,
    asset: Asset,
}

impl Amount {
    pub fn new(units: u128, asset: Asset) -> Amount {
        Amount { units, asset }
    }

    pub fn zero(asset: Asset) -> Amount {
        Amount { units: 0, asset }
    }

    /// Base units (minor units for fiat).
    pub fn units(&self) -> u128 {
        self.units
    }

    pub fn asset(&self) -> Asset {
        self.asset
    }

    fn same_asset(self, other: Amount) -> Result<(), AmountError> {
        match self.asset == other.asset {
            true => Ok(()),
            false => Err(AmountError::AssetMismatch(self.asset, other.asset)),
        }
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_asset(other)?;
        Ok(Amount { units: self.units.checked_add(other.units).ok_or(AmountError::Overflow)?, ..self })
    }

    /// `self - other`; `Overflow` when `other` is larger (amounts are never negative).
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_asset(other)?;
        Ok(Amount { units: self.units.checked_sub(other.units).ok_or(AmountError::Overflow)?, ..self })
    }

    pub fn checked_mul(self, quantity: u32) -> Result<Amount, AmountError> {
        Ok(Amount { units: self.units.checked_mul(u128::from(quantity)).ok_or(AmountError::Overflow)?, ..self })
    }

    /// Sums amounts that must share one asset; an empty list sums to zero of `asset`.
    pub fn sum(asset: Asset, items: impl IntoIterator<Item = Amount>) -> Result<Amount, AmountError> {
        items.into_iter().try_fold(Amount::zero(asset), Amount::checked_add)
    }

    /// Reads a decimal number of whole units ("1.5", "0.000000000000000001", "42") exactly;
    /// more digits after the point than the asset has is an error, never a rounding.
    pub fn parse(text: &str, asset: Asset) -> Result<Amount, AmountError> {
        let bad = || AmountError::BadNumber(text.to_owned());
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || (text.contains('.') && frac.is_empty()) {
            return Err(bad());
        }
        if frac.len() > usize::from(asset.decimals) {
            return Err(AmountError::TooPrecise { text: text.to_owned(), asset, decimals: asset.decimals });
        }
        let scale = 10u128.pow(u32::from(asset.decimals));
        let whole: u128 = whole.parse().map_err(|_| AmountError::Overflow)?;
        let padded = format!("{frac:0<width$}", width = usize::from(asset.decimals));
        let frac: u128 = if padded.is_empty() { 0 } else { padded.parse().map_err(|_| bad())? };
        let units = whole.checked_mul(scale).and_then(|w| w.checked_add(frac)).ok_or(AmountError::Overflow)?;
        Ok(Amount { units, asset })
    }
}

impl From<Money> for Amount {
    fn from(money: Money) -> Amount {
        // Money is never negative.
        Amount { units: u128::try_from(money.minor()).unwrap_or(0), asset: Asset::fiat(money.currency()) }
    }
}

impl TryFrom<Amount> for Money {
    type Error = AmountError;
    fn try_from(amount: Amount) -> Result<Money, AmountError> {
        if !amount.asset.fiat {
            return Err(AmountError::NotFiat(amount.asset));
        }
        let currency = Currency::parse(amount.asset.code()).map_err(|_| AmountError::NotFiat(amount.asset))?;
        let minor = i64::try_from(amount.units).map_err(|_| AmountError::Overflow)?;
        Money::new(minor, currency).map_err(|_| AmountError::Overflow)
    }
}

impl fmt::Display for Amount {
    /// Whole units, then every decimal the asset has: `1.500000000000000000 ETH`, `150000 KRW`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decimals = usize::from(self.asset.decimals);
        if decimals == 0 {
            return write!(f, "{} {}", self.units, self.asset);
        }
        let scale = 10u128.pow(u32::from(self.asset.decimals));
        write!(f, "{}.{:0decimals$} {}", self.units / scale, self.units % scale, self.asset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eth() -> Asset {
        Asset::crypto("ETH", 18).unwrap()
    }

    #[test]
    fn an_eighteen_decimal_asset_holds_far_more_than_i64_would() {
        let hundred_million = Amount::parse("100000000", eth()).unwrap();
        assert_eq!(hundred_million.units(), 100_000_000 * 10u128.pow(18));
        assert!(hundred_million.units() > i64::MAX as u128);
        assert_eq!(Amount::parse("0.000000000000000001", eth()).unwrap().units(), 1);
    }

    #[test]
    fn more_decimals_than_the_asset_has_are_refused_not_rounded() {
        let krw = Asset::fiat(Currency::KRW);
        assert!(matches!(Amount::parse("1.5", krw), Err(AmountError::TooPrecise { .. })));
        assert!(matches!(Amount::parse("0.0000000000000000001", eth()), Err(AmountError::TooPrecise { .. })));
        for bad in ["", ".5", "1.", "-1", "1e5", "1,5", " 1"] {
            assert!(matches!(Amount::parse(bad, eth()), Err(AmountError::BadNumber(_))), "{bad:?}");
        }
    }

    #[test]
    fn fiat_and_crypto_do_not_mix() {
        let won = Amount::from(Money::new(1_000, Currency::KRW).unwrap());
        let wei = Amount::new(1, eth());
        assert_eq!(won.checked_add(wei), Err(AmountError::AssetMismatch(won.asset(), eth())));
        assert_eq!(Money::try_from(wei), Err(AmountError::NotFiat(eth())));
    }

    #[test]
    fn money_converts_both_ways_with_its_minor_digits() {
        let dollars = Money::new(12_345, Currency::USD).unwrap();
        let amount = Amount::from(dollars);
        assert_eq!((amount.units(), amount.asset().decimals()), (12_345, 2));
        assert_eq!(amount.to_string(), "123.45 USD");
        assert_eq!(Money::try_from(amount), Ok(dollars));
    }

    #[test]
    fn asset_codes_and_decimals_are_checked() {
        assert!(Asset::crypto("eth", 18).is_err());
        assert!(Asset::crypto("E", 18).is_err());
        assert!(Asset::crypto("TOOLONGCODE", 18).is_err());
        assert_eq!(Asset::crypto("USDC", 25), Err(AmountError::TooManyDecimals(25)));
        assert_eq!(Asset::crypto("USDC", 6).unwrap().code(), "USDC");
    }

    #[test]
    fn subtraction_below_zero_and_overflow_are_errors() {
        let one = Amount::new(1, eth());
        assert_eq!(Amount::zero(eth()).checked_sub(one), Err(AmountError::Overflow));
        assert_eq!(Amount::new(u128::MAX, eth()).checked_add(one), Err(AmountError::Overflow));
        assert_eq!(Amount::new(u128::MAX, eth()).checked_mul(2), Err(AmountError::Overflow));
    }

    proptest! {
        #[test]
        fn display_reads_back_exactly(units in any::<u64>(), extra in 0u128..1_000_000, decimals in 0u8..=MAX_DECIMALS) {
            let asset = Asset::crypto("TKN", decimals).unwrap();
            let amount = Amount::new(u128::from(units) * 1_000_000 + extra, asset);
            let shown = amount.to_string();
            let number = shown.strip_suffix(" TKN").unwrap();
            prop_assert_eq!(Amount::parse(number, asset), Ok(amount));
        }

        #[test]
        fn a_ledger_of_transfers_balances_to_what_was_deposited(transfers in proptest::collection::vec(0u64..u64::MAX, 1..50)) {
            // Each transfer moves base units from a float account to a wallet: the two sums
            // always add back up to the float's opening balance.
            let opening = Amount::new(u128::from(u64::MAX) * 64, eth());
            let mut float = opening;
            let mut wallet = Amount::zero(eth());
            for t in transfers {
                let t = Amount::new(u128::from(t), eth());
                float = float.checked_sub(t).unwrap();
                wallet = wallet.checked_add(t).unwrap();
            }
            prop_assert_eq!(float.checked_add(wallet), Ok(opening));
        }
    }
}
