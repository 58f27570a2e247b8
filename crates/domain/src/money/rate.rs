//! Explicit currency conversion: the only way an amount changes currency.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Currency, DecimalText, Money, MoneyError, RoundingRule, parse_decimal, shorten};

/// "1 `base` = `rate` `quote`", e.g. 1 USD = 7.1234 CNY, with an optional label of where the rate
/// came from ("PBOC 2025-03-01"). Dating and choosing rates is the caller's business.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ExchangeRate {
    base: Currency,
    quote: Currency,
    /// Invariant: greater than zero.
    rate: Decimal,
    source: Option<String>,
}

impl ExchangeRate {
    /// Refuses a rate that is not positive, and a "rate" from a currency to itself.
    pub fn new(base: Currency, quote: Currency, rate: Decimal) -> Result<ExchangeRate, MoneyError> {
        if base == quote {
            return Err(MoneyError::SameCurrencyRate { currency: base });
        }
        if rate <= Decimal::ZERO {
            return Err(MoneyError::RateNotPositive { rate });
        }
        Ok(ExchangeRate {
            base,
            quote,
            rate,
            source: None,
        })
    }

    /// Labels where the rate came from.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> ExchangeRate {
        self.source = Some(source.into());
        self
    }

    pub fn base(&self) -> Currency {
        self.base
    }

    pub fn quote(&self) -> Currency {
        self.quote
    }

    /// How many `quote` units one `base` unit buys.
    pub fn rate(&self) -> Decimal {
        self.rate
    }

    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Converts an amount in `base` to `quote`, rounding once to the quote's minor unit by `rule`.
    pub fn convert(&self, money: &Money, rule: RoundingRule) -> Result<Money, MoneyError> {
        if money.currency() != self.base {
            return Err(MoneyError::RateCurrencyMismatch {
                base: self.base,
                quote: self.quote,
                found: money.currency(),
            });
        }
        let converted = money
            .amount()
            .checked_mul(self.rate)
            .ok_or(MoneyError::Overflow {
                operation: "conversion",
                currency: self.quote,
            })?;
        Money::round(converted, self.quote, rule)
    }

    /// The rate the other way (1 / rate, to a `Decimal`'s 28 significant digits), same source.
    /// Refused when the inverse is too small to represent (a rate above about 10^28).
    pub fn inverse(&self) -> Result<ExchangeRate, MoneyError> {
        let not_invertible = || MoneyError::RateNotInvertible {
            base: self.base,
            quote: self.quote,
            rate: self.rate,
        };
        let inverse = Decimal::ONE
            .checked_div(self.rate)
            .ok_or_else(not_invertible)?;
        let mut inverted = ExchangeRate::new(self.quote, self.base, inverse.normalize())
            .map_err(|_| not_invertible())?;
        inverted.source.clone_from(&self.source);
        Ok(inverted)
    }
}

/// "1 USD = 7.1234 CNY".
impl fmt::Display for ExchangeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "1 {} = {} {}",
            self.base,
            self.rate.normalize(),
            self.quote
        )
    }
}

impl fmt::Debug for ExchangeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "ExchangeRate({self}, {source:?})"),
            None => write!(f, "ExchangeRate({self})"),
        }
    }
}

/// `{"base": "USD", "quote": "CNY", "rate": "7.1234", "source": "PBOC"}`, rate as a string and
/// source left out when absent.
impl Serialize for ExchangeRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            base: Currency,
            quote: Currency,
            rate: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            source: Option<&'a str>,
        }
        Wire {
            base: self.base,
            quote: self.quote,
            rate: self.rate.normalize().to_string(),
            source: self.source(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ExchangeRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            base: Currency,
            quote: Currency,
            rate: DecimalText,
            #[serde(default)]
            source: Option<String>,
        }
        let wire = Wire::deserialize(deserializer)?;
        let rate = parse_decimal(&wire.rate.0)
            .ok_or_else(|| MoneyError::InvalidAmount {
                input: shorten(&wire.rate.0),
            })
            .and_then(|rate| ExchangeRate::new(wire.base, wire.quote, rate))
            .map_err(serde::de::Error::custom)?;
        Ok(ExchangeRate {
            source: wire.source,
            ..rate
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn usd_cny() -> ExchangeRate {
        ExchangeRate::new(Currency::USD, Currency::CNY, d("7.1234")).unwrap()
    }

    #[test]
    fn converts_base_amounts_rounding_once() {
        let usd = Money::parse("100.00", Currency::USD).unwrap();
        assert_eq!(
            usd_cny()
                .convert(&usd, RoundingRule::HalfUp)
                .unwrap()
                .to_string(),
            "712.34 CNY"
        );
        let cents = Money::parse("0.07", Currency::USD).unwrap();
        // 0.07 × 7.1234 = 0.498638
        assert_eq!(
            usd_cny()
                .convert(&cents, RoundingRule::HalfUp)
                .unwrap()
                .to_string(),
            "0.50 CNY"
        );
        assert_eq!(
            usd_cny()
                .convert(&cents, RoundingRule::Down)
                .unwrap()
                .to_string(),
            "0.49 CNY"
        );
        let to_jpy = ExchangeRate::new(Currency::USD, Currency::JPY, d("151.37")).unwrap();
        assert_eq!(
            to_jpy
                .convert(&usd, RoundingRule::HalfUp)
                .unwrap()
                .to_string(),
            "15137 JPY"
        );
    }

    #[test]
    fn refuses_amounts_not_in_the_base() {
        let cny = Money::parse("1", Currency::CNY).unwrap();
        let err = usd_cny().convert(&cny, RoundingRule::HalfUp).unwrap_err();
        assert_eq!(
            err,
            MoneyError::RateCurrencyMismatch {
                base: Currency::USD,
                quote: Currency::CNY,
                found: Currency::CNY
            }
        );
        assert_eq!(
            err.to_string(),
            "this USD→CNY rate converts USD amounts, not CNY"
        );
    }

    #[test]
    fn refuses_bad_rates() {
        let err = ExchangeRate::new(Currency::USD, Currency::CNY, Decimal::ZERO).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an exchange rate must be greater than zero, got 0"
        );
        assert!(ExchangeRate::new(Currency::USD, Currency::CNY, d("-1")).is_err());
        let err = ExchangeRate::new(Currency::USD, Currency::USD, Decimal::ONE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an exchange rate needs two different currencies, got USD for both"
        );
    }

    #[test]
    fn inverse_swaps_currencies_and_keeps_the_source() {
        let rate = ExchangeRate::new(Currency::USD, Currency::CNY, d("8"))
            .unwrap()
            .with_source("test");
        let inverse = rate.inverse().unwrap();
        assert_eq!(
            (inverse.base(), inverse.quote(), inverse.rate()),
            (Currency::CNY, Currency::USD, d("0.125"))
        );
        assert_eq!(inverse.source(), Some("test"));
        assert_eq!(inverse.inverse().unwrap(), rate);
        let huge = ExchangeRate::new(Currency::USD, Currency::CNY, Decimal::MAX).unwrap();
        assert!(matches!(
            huge.inverse(),
            Err(MoneyError::RateNotInvertible { .. })
        ));
        let tiny = ExchangeRate::new(Currency::USD, Currency::CNY, Decimal::new(1, 28)).unwrap();
        assert_eq!(
            tiny.inverse().unwrap().rate(),
            d("10000000000000000000000000000")
        );
    }

    #[test]
    fn conversion_overflow_is_an_error() {
        let max = Money::new(Decimal::MAX, Currency::JPY).unwrap();
        let rate = ExchangeRate::new(Currency::JPY, Currency::CNY, d("2")).unwrap();
        assert!(rate.convert(&max, RoundingRule::HalfUp).is_err());
    }

    #[test]
    fn display_and_debug() {
        assert_eq!(usd_cny().to_string(), "1 USD = 7.1234 CNY");
        assert_eq!(
            format!("{:?}", usd_cny().with_source("PBOC")),
            "ExchangeRate(1 USD = 7.1234 CNY, \"PBOC\")"
        );
    }

    #[test]
    fn serde_roundtrip_with_rate_as_string() {
        let rate = usd_cny().with_source("PBOC");
        let json = serde_json::to_string(&rate).unwrap();
        assert_eq!(
            json,
            r#"{"base":"USD","quote":"CNY","rate":"7.1234","source":"PBOC"}"#
        );
        assert_eq!(serde_json::from_str::<ExchangeRate>(&json).unwrap(), rate);
        let plain = serde_json::to_string(&usd_cny()).unwrap();
        assert_eq!(plain, r#"{"base":"USD","quote":"CNY","rate":"7.1234"}"#);
        assert_eq!(
            serde_json::from_str::<ExchangeRate>(&plain).unwrap(),
            usd_cny()
        );
    }

    #[test]
    fn serde_validates() {
        for (json, needle) in [
            (
                r#"{"base":"USD","quote":"CNY","rate":7.1}"#,
                "decimal written as a string",
            ),
            (
                r#"{"base":"USD","quote":"CNY","rate":"0"}"#,
                "greater than zero",
            ),
            (
                r#"{"base":"USD","quote":"USD","rate":"1"}"#,
                "two different currencies",
            ),
            (
                r#"{"base":"USD","quote":"CNY","rate":"7,1"}"#,
                "not a decimal amount",
            ),
            (
                r#"{"base":"USD","quote":"CNY","rate":"7","extra":1}"#,
                "unknown field",
            ),
        ] {
            let err = serde_json::from_str::<ExchangeRate>(json)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }
}
