//! Countries as ISO 3166-1 alpha-2 codes.
//!
//! The table lives in this crate (see `country/iso3166.rs`) rather than in a dependency: the
//! crates available either need a newer Rust (celes 3), carry non-ISO names and codes (celes 2:
//! "Coted Ivoire", XK) or predate current names (isocountry, iso_country: "Swaziland").

mod iso3166;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::shorten;
use iso3166::COUNTRIES;

/// Why a country code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryError {
    #[error("{input:?} is not a country code: expected an ISO 3166-1 alpha-2 code such as KH")]
    UnknownCode { input: String },
}

/// A country or territory with an officially assigned ISO 3166-1 alpha-2 code, such as KH.
///
/// Only the exact uppercase code parses: "kh", "KHM" or user-assigned codes such as XK are
/// refused, so that a stored code always means one thing.
#[derive(Clone, Copy)]
pub struct Country(&'static (&'static str, &'static str));

impl Country {
    /// The two-letter code, e.g. "KH".
    pub fn code(self) -> &'static str {
        self.0.0
    }

    /// The ISO English short name, e.g. "Cambodia" or "Korea, Republic of".
    pub fn name(self) -> &'static str {
        self.0.1
    }

    /// Every assigned code, in code order (for pick lists).
    pub fn all() -> impl ExactSizeIterator<Item = Country> {
        COUNTRIES.iter().map(Country)
    }
}

impl FromStr for Country {
    type Err = CountryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        COUNTRIES
            .binary_search_by(|(code, _)| (*code).cmp(s))
            .ok()
            .and_then(|index| COUNTRIES.get(index))
            .map(Country)
            .ok_or_else(|| CountryError::UnknownCode { input: shorten(s) })
    }
}

impl PartialEq for Country {
    fn eq(&self, other: &Self) -> bool {
        // Codes are two letters: compared as such, without a call to compare slices.
        match (self.code().as_bytes(), other.code().as_bytes()) {
            ([a, b], [c, d]) => a == c && b == d,
            (left, right) => left == right,
        }
    }
}

impl Eq for Country {}

impl Hash for Country {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl Ord for Country {
    fn cmp(&self, other: &Self) -> Ordering {
        self.code().cmp(other.code())
    }
}

impl PartialOrd for Country {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The code, "KH".
impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assigned_codes_with_names() {
        for (code, name) in [
            ("KH", "Cambodia"),
            ("CN", "China"),
            ("MX", "Mexico"),
            ("RW", "Rwanda"),
            ("CA", "Canada"),
            ("TH", "Thailand"),
            ("KR", "Korea, Republic of"),
            ("TR", "Türkiye"),
            ("SZ", "Eswatini"),
        ] {
            let country: Country = code.parse().unwrap();
            assert_eq!(country.code(), code);
            assert_eq!(country.name(), name);
            assert_eq!(country.to_string(), code);
            assert_eq!(format!("{country:?}"), code);
        }
    }

    #[test]
    fn rejects_anything_but_an_assigned_uppercase_code() {
        for bad in [
            "XX", "kh", "Kh", "KHM", "", "K", " KH", "KH ", "XK", "EU", "UK", "ÄÄ", "11",
        ] {
            let err = bad.parse::<Country>().unwrap_err();
            assert_eq!(
                err,
                CountryError::UnknownCode {
                    input: bad.to_owned()
                }
            );
        }
        assert_eq!(
            "kh".parse::<Country>().unwrap_err().to_string(),
            "\"kh\" is not a country code: expected an ISO 3166-1 alpha-2 code such as KH"
        );
    }

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        assert_eq!(Country::all().len(), 249);
        assert!(COUNTRIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        for (code, name) in COUNTRIES.iter() {
            assert!(
                code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code}"
            );
            assert!(!name.is_empty(), "{code}");
            assert_eq!(code.parse::<Country>().map(Country::name), Ok(*name));
        }
    }

    #[test]
    fn equality_hash_and_order_follow_the_code() {
        use std::collections::BTreeSet;
        let set: BTreeSet<Country> = ["TH", "CN", "KH", "CN"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        let codes: Vec<&str> = set.iter().map(|c| c.code()).collect();
        assert_eq!(codes, ["CN", "KH", "TH"]);
    }

    #[test]
    fn serde_is_the_code_and_validates() {
        let kh: Country = "KH".parse().unwrap();
        assert_eq!(serde_json::to_string(&kh).unwrap(), "\"KH\"");
        assert_eq!(serde_json::from_str::<Country>("\"KH\"").unwrap(), kh);
        let err = serde_json::from_str::<Country>("\"kh\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected an ISO 3166-1 alpha-2 code such as KH"),
            "{err}"
        );
        assert!(serde_json::from_str::<Country>("116").is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_two_letters_parse_exactly_when_assigned(code in "[A-Za-z]{2}") {
                let assigned = COUNTRIES.iter().any(|(c, _)| *c == code);
                prop_assert_eq!(code.parse::<Country>().is_ok(), assigned);
            }

            #[test]
            fn serde_roundtrips(index in 0..COUNTRIES.len()) {
                let country = Country::all().nth(index).unwrap();
                let json = serde_json::to_string(&country).unwrap();
                prop_assert_eq!(serde_json::from_str::<Country>(&json).unwrap(), country);
            }
        }
    }
}
