//! Decimals as text: the only way amounts enter or leave the domain, so that no binary float ever
//! touches money or quantities.

use std::fmt;

use rust_decimal::Decimal;
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Parses a plain decimal such as "123.45" or "-0.5" exactly.
///
/// Only `-?digits(.digits)?` is accepted: no exponent, sign "+", thousands separator or blanks, so
/// that "1e3" or "1,000" cannot be read as something other than what a person meant. Returns
/// `None` when the syntax is wrong or the value does not fit a `Decimal` without rounding.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !frac.is_none_or(all_digits) {
        return None;
    }
    Decimal::from_str_exact(text).ok()
}

/// A decimal that arrived as a string in serialized data; JSON numbers are refused.
pub(crate) struct DecimalText(pub(crate) String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(DecimalTextVisitor)
    }
}

struct DecimalTextVisitor;

impl Visitor<'_> for DecimalTextVisitor {
    type Value = DecimalText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a decimal written as a string, such as \"123.45\" (numbers are refused because they may be binary floats)",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(DecimalText(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(DecimalText(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn accepts_plain_decimals() {
        for (text, expected) in [
            ("0", "0"),
            ("123.45", "123.45"),
            ("-0.5", "-0.5"),
            ("007.10", "7.10"),
        ] {
            assert_eq!(
                parse_decimal(text),
                Some(Decimal::from_str(expected).unwrap()),
                "{text}"
            );
        }
        assert_eq!(parse_decimal("1.50").unwrap().scale(), 2);
    }

    #[test]
    fn rejects_other_notations() {
        for text in [
            "", "-", ".5", "5.", "+5", "1e3", "1E3", "1,000", "1_000", " 1", "1 ", "--1", "1.2.3",
            "NaN", "inf", "١٢", "0x10",
        ] {
            assert_eq!(parse_decimal(text), None, "{text:?}");
        }
    }

    #[test]
    fn rejects_values_that_would_be_rounded() {
        assert_eq!(parse_decimal("0.12345678901234567890123456789"), None);
        assert_eq!(parse_decimal(&"9".repeat(40)), None);
    }

    #[test]
    fn deserializes_strings_only() {
        let text: DecimalText = serde_json::from_str("\"1.5\"").unwrap();
        assert_eq!(text.0, "1.5");
        let err = serde_json::from_str::<DecimalText>("1.5")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("decimal written as a string"), "{err}");
        assert!(serde_json::from_str::<DecimalText>("15").is_err());
        assert!(serde_json::from_str::<DecimalText>("null").is_err());
    }
}
