//! Money: integer minor units plus an ISO 4217 currency. There is no floating point here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency, held by its alphabetic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

/// Why a currency code or an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{0}' is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("amounts in {left} and {right} cannot be combined")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount overflows")]
    Overflow,
    #[error("'{0}' is not an amount (use digits with at most the currency's decimals, e.g. 12.50)")]
    BadAmount(String),
}

impl Currency {
    /// Parses an upper-case ISO 4217 code such as `USD`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        iso_currency::Currency::from_code(code)
            .map(Self)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Number of decimal places of the minor unit (2 for USD, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount of money in minor units (cents) of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units of `currency`.
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in minor units.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Zero in a currency.
    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// Parses a decimal string such as `12.5` or `12.50` in the given currency, exactly.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let bad = || MoneyError::BadAmount(text.to_string());
        let trimmed = text.trim();
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let exponent = currency.exponent() as usize;
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > exponent
            || (digits.contains('.') && fraction.is_empty())
        {
            return Err(bad());
        }
        let mut minor: i64 = whole.parse().map_err(|_| bad())?;
        for _ in 0..exponent {
            minor = minor.checked_mul(10).ok_or(MoneyError::Overflow)?;
        }
        let mut frac_minor: i64 = 0;
        for i in 0..exponent {
            let digit = fraction.as_bytes().get(i).map(|b| i64::from(b - b'0')).unwrap_or(0);
            frac_minor = frac_minor * 10 + digit;
        }
        minor = minor.checked_add(frac_minor).ok_or(MoneyError::Overflow)?;
        Ok(Self::new(if negative { -minor } else { minor }, currency))
    }

    /// `self + other`, refusing mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            });
        }
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, refusing mixed currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(Money::new(
            other.minor.checked_neg().ok_or(MoneyError::Overflow)?,
            other.currency,
        ))
    }

    /// `self × quantity`.
    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(i64::from(quantity))
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }
}

impl Money {
    /// The amount as a decimal without the currency: `12.50`, `-0.05`, `1200` (JPY).
    pub fn amount_string(&self) -> String {
        let exponent = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10u64.pow(exponent);
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exponent as usize
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    #[test]
    fn parses_decimal_amounts_exactly() {
        let check = |text: &str, code: &str, minor: i64| {
            let currency = Currency::parse(code).expect("currency");
            assert_eq!(
                Money::parse_decimal(text, currency),
                Ok(Money::new(minor, currency)),
                "{text}"
            );
        };
        check("12.50", "USD", 1250);
        check("12.5", "USD", 1250);
        check("12", "USD", 1200);
        check("-0.01", "EUR", -1);
        check("1500", "JPY", 1500);
        check("1.234", "KWD", 1234);
    }

    #[test]
    fn refuses_bad_amounts() {
        for text in ["", "abc", "1.234", "1.", ".5", "1,00", "1e3", "--1"] {
            assert!(Money::parse_decimal(text, usd()).is_err(), "{text} should be refused");
        }
        assert!(Money::parse_decimal("1.5", Currency::parse("JPY").expect("JPY")).is_err());
        assert_eq!(Currency::parse("XYZ"), Err(MoneyError::UnknownCurrency("XYZ".into())));
    }

    #[test]
    fn refuses_mixed_currencies() {
        let eur = Currency::parse("EUR").expect("EUR");
        assert!(matches!(
            Money::new(1, usd()).checked_add(Money::new(1, eur)),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn displays_with_the_currency_exponent() {
        assert_eq!(Money::new(1250, usd()).to_string(), "12.50 USD");
        assert_eq!(Money::new(-5, usd()).to_string(), "-0.05 USD");
        assert_eq!(
            Money::new(1500, Currency::parse("JPY").expect("JPY")).to_string(),
            "1500 JPY"
        );
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(minor in -10_000_000_000i64..10_000_000_000i64) {
            let money = Money::new(minor, usd());
            let text = money.to_string();
            let number = text.trim_end_matches(" USD");
            prop_assert_eq!(Money::parse_decimal(number, usd()), Ok(money));
        }

        #[test]
        fn addition_is_exact(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            let sum = Money::new(a, usd()).checked_add(Money::new(b, usd())).expect("no overflow");
            prop_assert_eq!(sum.minor, a + b);
            prop_assert_eq!(sum.checked_sub(Money::new(b, usd())).expect("no overflow").minor, a);
        }
    }
}
