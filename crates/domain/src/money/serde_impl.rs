//! Money on the wire: `{"amount": "123.45", "currency": "CNY"}`.
//!
//! The amount is a string with the currency's minor digits ("10.00" CNY, "500" JPY, "1.000" KWD).
//! Reading accepts only a string amount — a JSON number may have passed through a binary float —
//! and refuses more decimals than the currency allows.

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Currency, DecimalStr, DecimalText, Money};

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("Money", 2)?;
        state.serialize_field("amount", DecimalStr::new(self.amount()).as_str())?;
        state.serialize_field("currency", &self.currency())?;
        state.end()
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Money", deny_unknown_fields)]
        struct Wire {
            amount: DecimalText,
            currency: Currency,
        }
        let wire = Wire::deserialize(deserializer)?;
        Money::parse(&wire.amount.0, wire.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(m: &Money) -> String {
        serde_json::to_string(m).unwrap()
    }

    fn read(s: &str) -> Result<Money, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn writes_the_currency_minor_digits() {
        assert_eq!(
            json(&Money::parse("10", Currency::CNY).unwrap()),
            r#"{"amount":"10.00","currency":"CNY"}"#
        );
        assert_eq!(
            json(&Money::parse("500", Currency::JPY).unwrap()),
            r#"{"amount":"500","currency":"JPY"}"#
        );
        assert_eq!(
            json(&Money::parse("1", Currency::KWD).unwrap()),
            r#"{"amount":"1.000","currency":"KWD"}"#
        );
        assert_eq!(
            json(&Money::parse("-0.5", Currency::USD).unwrap()),
            r#"{"amount":"-0.50","currency":"USD"}"#
        );
    }

    #[test]
    fn reads_string_amounts() {
        assert_eq!(
            read(r#"{"amount":"123.45","currency":"CNY"}"#),
            Ok(Money::from_minor(12345, Currency::CNY))
        );
        assert_eq!(
            read(r#"{"currency":"CNY","amount":"1.5"}"#),
            Ok(Money::from_minor(150, Currency::CNY))
        );
        assert_eq!(
            read(r#"{"amount":"1.500","currency":"CNY"}"#),
            Ok(Money::from_minor(150, Currency::CNY))
        );
    }

    #[test]
    fn refuses_bad_input_with_clear_messages() {
        for (input, needle) in [
            (
                r#"{"amount":123.45,"currency":"CNY"}"#,
                "expected a decimal written as a string",
            ),
            (
                r#"{"amount":12,"currency":"CNY"}"#,
                "expected a decimal written as a string",
            ),
            (
                r#"{"amount":"1.234","currency":"CNY"}"#,
                "amount 1.234 has more decimal places than CNY allows (2)",
            ),
            (
                r#"{"amount":"1.5","currency":"JPY"}"#,
                "more decimal places than JPY allows (0)",
            ),
            (
                r#"{"amount":"1e3","currency":"CNY"}"#,
                "\"1e3\" is not a decimal amount",
            ),
            (
                r#"{"amount":"1","currency":"cny"}"#,
                "not an ISO 4217 currency code",
            ),
            (
                r#"{"amount":"1","currency":"XAU"}"#,
                "cannot be used for money amounts",
            ),
            (r#"{"amount":"1"}"#, "missing field `currency`"),
            (r#"{"currency":"CNY"}"#, "missing field `amount`"),
            (
                r#"{"amount":"1","currency":"CNY","fx":"1"}"#,
                "unknown field `fx`",
            ),
            (r#""1.00 CNY""#, "invalid type"),
        ] {
            let err = read(input).unwrap_err();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }
}
