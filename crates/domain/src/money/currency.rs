//! ISO 4217 currencies usable for money amounts.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MoneyError;
use super::error::shorten;

/// The largest minor-unit exponent accepted. ISO 4217 tops out at 4 (CLF, UYW); the bound keeps
/// `10^minor_units` inside an `i64` and a decimal scale inside `rust_decimal`'s limit of 28.
const MAX_MINOR_UNITS: u16 = 18;

/// An ISO 4217 currency that has a minor unit, such as CNY (2 decimals), JPY (0) or KWD (3).
///
/// Codes without a minor unit in ISO 4217 — precious metals (XAU), fund units (XDR), the testing
/// and "no currency" codes (XTS, XXX) — are refused when parsing: an amount in them has no defined
/// rounding, so they cannot be money here. Superseded and fund currencies with an exponent (VES,
/// BOV) are accepted, since old invoices may still carry them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Chinese yuan renminbi.
    pub const CNY: Currency = Currency(iso_currency::Currency::CNY);
    /// United States dollar.
    pub const USD: Currency = Currency(iso_currency::Currency::USD);
    /// Euro.
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency(iso_currency::Currency::JPY);
    /// Kuwaiti dinar (three decimals).
    pub const KWD: Currency = Currency(iso_currency::Currency::KWD);
    /// Cambodian riel.
    pub const KHR: Currency = Currency(iso_currency::Currency::KHR);
    /// Thai baht.
    pub const THB: Currency = Currency(iso_currency::Currency::THB);
    /// Mexican peso.
    pub const MXN: Currency = Currency(iso_currency::Currency::MXN);
    /// Rwandan franc (no minor unit).
    pub const RWF: Currency = Currency(iso_currency::Currency::RWF);
    /// Canadian dollar.
    pub const CAD: Currency = Currency(iso_currency::Currency::CAD);

    /// The three-letter code, e.g. "CNY".
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// The English name, e.g. "Renminbi (Chinese) yuan".
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Number of decimal places of the minor unit (2 for CNY, 0 for JPY, 3 for KWD).
    pub fn minor_units(self) -> u32 {
        // Every `Currency` was checked to have an exponent, so the fallback is never taken.
        self.0.exponent().map_or(0, u32::from)
    }

    /// The underlying `iso_currency` value, for symbols, numeric codes and countries of use.
    pub fn iso(self) -> iso_currency::Currency {
        self.0
    }
}

impl TryFrom<iso_currency::Currency> for Currency {
    type Error = MoneyError;

    fn try_from(iso: iso_currency::Currency) -> Result<Self, Self::Error> {
        match iso.exponent() {
            Some(exponent) if exponent <= MAX_MINOR_UNITS => Ok(Currency(iso)),
            _ => Err(MoneyError::NotMonetary { code: iso.code() }),
        }
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    /// Accepts exactly a known three-letter uppercase code; "cny" or " CNY" are refused so that
    /// stored codes stay canonical.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let well_formed = s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase());
        match iso_currency::Currency::from_code(s) {
            Some(iso) if well_formed => Currency::try_from(iso),
            _ => Err(MoneyError::UnknownCurrency { input: shorten(s) }),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Ord for Currency {
    fn cmp(&self, other: &Self) -> Ordering {
        self.code().cmp(other.code())
    }
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_codes_with_their_minor_units() {
        for (code, minor) in [
            ("CNY", 2),
            ("USD", 2),
            ("JPY", 0),
            ("KWD", 3),
            ("CLF", 4),
            ("KHR", 2),
        ] {
            let c: Currency = code.parse().unwrap();
            assert_eq!(c.code(), code);
            assert_eq!(c.to_string(), code);
            assert_eq!(format!("{c:?}"), code);
            assert_eq!(c.minor_units(), minor, "{code}");
        }
    }

    #[test]
    fn constants_are_usable_currencies() {
        for c in [
            Currency::CNY,
            Currency::USD,
            Currency::EUR,
            Currency::JPY,
            Currency::KWD,
            Currency::KHR,
            Currency::THB,
            Currency::MXN,
            Currency::RWF,
            Currency::CAD,
        ] {
            assert_eq!(Currency::try_from(c.iso()), Ok(c));
            assert_eq!(c.code().parse::<Currency>(), Ok(c));
        }
        assert_eq!(Currency::RWF.minor_units(), 0);
    }

    #[test]
    fn rejects_malformed_and_unknown_codes() {
        for bad in ["", "cny", "Cny", "CN", "CNYY", " CNY", "CNY ", "ABC", "12€"] {
            let err = bad.parse::<Currency>().unwrap_err();
            assert!(
                matches!(err, MoneyError::UnknownCurrency { .. }),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            "cny".parse::<Currency>().unwrap_err().to_string(),
            "\"cny\" is not an ISO 4217 currency code: expected three uppercase letters such as CNY"
        );
    }

    #[test]
    fn rejects_codes_without_minor_unit() {
        for code in ["XAU", "XAG", "XDR", "XTS", "XXX"] {
            let err = code.parse::<Currency>().unwrap_err();
            assert_eq!(
                err,
                MoneyError::NotMonetary {
                    code: iso_currency::Currency::from_code(code).unwrap().code()
                }
            );
            assert!(err.to_string().starts_with(code));
        }
    }

    #[test]
    fn orders_by_code() {
        let mut v = vec![Currency::USD, Currency::CNY, Currency::JPY, Currency::EUR];
        v.sort();
        assert_eq!(
            v,
            [Currency::CNY, Currency::EUR, Currency::JPY, Currency::USD]
        );
    }

    #[test]
    fn serde_is_the_code_and_validates() {
        assert_eq!(serde_json::to_string(&Currency::CNY).unwrap(), "\"CNY\"");
        assert_eq!(
            serde_json::from_str::<Currency>("\"KWD\"").unwrap(),
            Currency::KWD
        );
        let err = serde_json::from_str::<Currency>("\"usd\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an ISO 4217 currency code"), "{err}");
        assert!(serde_json::from_str::<Currency>("\"XAU\"").is_err());
        assert!(serde_json::from_str::<Currency>("840").is_err());
    }
}
