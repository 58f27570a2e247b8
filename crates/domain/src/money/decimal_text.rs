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

/// A decimal's text exactly as `Decimal`'s `Display` writes it (a sign when negative, every digit
/// of its scale), built on the stack. A quote writes dozens of amounts and rates, and `Display`
/// divides the 96-bit mantissa word by word for each digit.
pub(crate) struct DecimalStr {
    bytes: [u8; DecimalStr::CAPACITY],
    len: usize,
}

impl DecimalStr {
    /// A sign, a leading zero, a point and at most 29 digits (a scale is at most 28).
    const CAPACITY: usize = 32;

    pub(crate) fn new(value: Decimal) -> DecimalStr {
        let scale = value.scale() as usize;
        // The digits, lowest first, padded with zeros to at least `scale` of them.
        let mut digits = [b'0'; 29];
        let mut count = 0;
        let mut rest = value.mantissa().unsigned_abs();
        while rest > u128::from(u64::MAX) {
            digits[count] = b'0' + (rest % 10) as u8;
            rest /= 10;
            count += 1;
        }
        let mut small = rest as u64;
        while small != 0 {
            digits[count] = b'0' + (small % 10) as u8;
            small /= 10;
            count += 1;
        }
        let count = count.max(scale);
        let (fraction, whole) = digits[..count].split_at(scale);
        let mut out = DecimalStr {
            bytes: [0; DecimalStr::CAPACITY],
            len: 0,
        };
        if value.is_sign_negative() {
            out.push(b'-');
        }
        if whole.is_empty() {
            out.push(b'0');
        }
        whole.iter().rev().for_each(|d| out.push(*d));
        if !fraction.is_empty() {
            out.push(b'.');
            fraction.iter().rev().for_each(|d| out.push(*d));
        }
        out
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, '-' and '.' are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Display for DecimalStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn writes_decimals_as_display_does() {
        for text in [
            "0",
            "0.00",
            "-0.00",
            "7",
            "-7",
            "0.5",
            "-0.50",
            "123.45",
            "0.000123",
            "1000",
            "79228162514264337593543950335",
            "-7.9228162514264337593543950335",
            "0.0000000000000000000000000001",
        ] {
            let value = Decimal::from_str(text).unwrap();
            assert_eq!(DecimalStr::new(value).as_str(), value.to_string(), "{text}");
        }
        let negative_zero = Decimal::from_parts(0, 0, 0, true, 3);
        assert_eq!(
            DecimalStr::new(negative_zero).as_str(),
            negative_zero.to_string()
        );
    }

    proptest::proptest! {
        #[test]
        fn writes_any_decimal_as_display_does(
            lo: u32, mid: u32, hi: u32, negative: bool, scale in 0_u32..=28, width in 0_u32..3,
        ) {
            // Short mantissas too, where most decimals are leading zeros.
            let (mid, hi) = match width { 0 => (0, 0), 1 => (mid, 0), _ => (mid, hi) };
            let value = Decimal::from_parts(lo, mid, hi, negative, scale);
            let text = DecimalStr::new(value);
            proptest::prop_assert_eq!(text.as_str(), value.to_string());
        }
    }

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
