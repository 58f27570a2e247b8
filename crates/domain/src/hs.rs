//! Harmonized System (HS) codes and the prefixes that rules are written against.
//!
//! An [`HsCode`] classifies one product: the 6-digit international subheading, optionally
//! extended to a national tariff line of 8 or 10 digits. An [`HsPrefix`] (2 to 10 digits) selects
//! a chapter, heading or line in tariff and market-access rules; where several rules match a
//! code, the most specific prefix wins ([`most_specific`]).
//!
//! Validation is structural (digit counts and chapters); whether a heading exists in a given HS
//! edition is for the rule data to say.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::shorten;

/// Why an HS code or prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HsError {
    #[error(
        "{input:?} is not an HS code: expected digits, optionally grouped with dots or spaces as in \"0810.90\" or \"0810 90 10\""
    )]
    Malformed { input: String },

    #[error(
        "{input:?} has {digits} digits; an HS code has 6, or 8 or 10 for a national tariff line"
    )]
    CodeLength { input: String, digits: usize },

    #[error("{input:?} has {digits} digits; an HS prefix has 2, 4, 6, 8 or 10")]
    PrefixLength { input: String, digits: usize },

    #[error(
        "HS chapter {chapter} is not in use: chapters run from 01 to 97 (77 is reserved), with 98 and 99 for national use"
    )]
    Chapter { chapter: String },
}

const MAX_DIGITS: usize = 10;

/// Up to ten ASCII digits, stored inline so that codes are `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Digits {
    /// Invariant: `buf[..len]` are ASCII digits and the rest is zero bytes.
    buf: [u8; MAX_DIGITS],
    len: u8,
}

impl Digits {
    /// Reads digits, allowing single dots or spaces between them as HS codes are often written.
    /// Returns the digits and how many there were (possibly more than ten).
    fn parse(input: &str) -> Result<(Digits, usize), HsError> {
        let malformed = || HsError::Malformed {
            input: shorten(input),
        };
        let mut digits = Digits {
            buf: [0; MAX_DIGITS],
            len: 0,
        };
        let mut count = 0;
        let mut after_separator = false;
        for byte in input.trim().bytes() {
            match byte {
                b'0'..=b'9' => {
                    if let Some(slot) = digits.buf.get_mut(count) {
                        *slot = byte;
                    }
                    count += 1;
                    after_separator = false;
                }
                b'.' | b' ' if count > 0 && !after_separator => after_separator = true,
                _ => return Err(malformed()),
            }
        }
        if count == 0 || after_separator {
            return Err(malformed());
        }
        digits.len = u8::try_from(count.min(MAX_DIGITS)).unwrap_or(0);
        let chapter = digits.as_str().get(..2).unwrap_or_default();
        if count >= 2 && matches!(chapter, "00" | "77") {
            return Err(HsError::Chapter {
                chapter: chapter.to_owned(),
            });
        }
        Ok((digits, count))
    }

    fn as_str(&self) -> &str {
        let bytes = self.buf.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The first `n` digits (the whole when shorter).
    fn head(&self, n: usize) -> &str {
        let digits = self.as_str();
        digits.get(..n).unwrap_or(digits)
    }
}

/// A product's HS code: 6 digits, or 8 or 10 for a national tariff line, such as "081090".
///
/// Parsing accepts dots and spaces between digits ("0810.90", "0810 90 10") and keeps the digits
/// only. Chapter 00 and the reserved chapter 77 are refused; chapters 98 and 99, which the HS
/// leaves to national use (special provisions, postal goods), are accepted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HsCode(Digits);

impl HsCode {
    /// The digits only, e.g. "08109010".
    pub fn digits(&self) -> &str {
        self.0.as_str()
    }

    /// The digits as bytes, without the UTF-8 check of [`HsCode::digits`] (for rule lookups).
    pub(crate) fn digit_bytes(&self) -> &[u8] {
        self.0
            .buf
            .get(..usize::from(self.0.len))
            .unwrap_or_default()
    }

    /// The 2-digit chapter, e.g. "08" (edible fruit and nuts).
    pub fn chapter(&self) -> &str {
        self.0.head(2)
    }

    /// The 4-digit heading, e.g. "0810".
    pub fn heading(&self) -> &str {
        self.0.head(4)
    }

    /// The 6-digit international subheading, e.g. "081090".
    pub fn subheading(&self) -> &str {
        self.0.head(6)
    }

    /// Whether the code goes beyond the international 6 digits to a national line.
    pub fn is_national_extension(&self) -> bool {
        self.digits().len() > 6
    }

    /// Whether the chapter is 98 or 99, which each country defines for itself.
    pub fn is_national_chapter(&self) -> bool {
        matches!(self.chapter(), "98" | "99")
    }

    /// The prefix made of the first `len` digits, if `len` is a valid prefix length that the
    /// code has (e.g. `prefix(2)` is its chapter, for statistics by chapter).
    pub fn prefix(&self, len: usize) -> Option<HsPrefix> {
        if !len.is_multiple_of(2) || len < 2 || len > self.digits().len() {
            return None;
        }
        let mut digits = self.0;
        digits.len = u8::try_from(len).ok()?;
        for byte in digits.buf.iter_mut().skip(len) {
            *byte = 0;
        }
        Some(HsPrefix(digits))
    }

    /// The customary written form: "0810.90" or "0810.90.10".
    pub fn formatted(&self) -> String {
        let digits = self.digits();
        let mut out = String::with_capacity(digits.len() + 3);
        out.push_str(self.heading());
        for pair in digits.as_bytes().get(4..).unwrap_or_default().chunks(2) {
            out.push('.');
            out.extend(pair.iter().map(|b| char::from(*b)));
        }
        out
    }
}

impl FromStr for HsCode {
    type Err = HsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (digits, count) = Digits::parse(s)?;
        match count {
            6 | 8 | 10 => Ok(HsCode(digits)),
            _ => Err(HsError::CodeLength {
                input: shorten(s),
                digits: count,
            }),
        }
    }
}

/// A prefix of HS codes: a chapter (2 digits), heading (4), subheading (6) or national line (8,
/// 10). Parsed like [`HsCode`]; odd lengths are refused since they name no HS level.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HsPrefix(Digits);

impl HsPrefix {
    pub fn digits(&self) -> &str {
        self.0.as_str()
    }

    /// The number of digits, 2 to 10: the longer, the more specific.
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        self.digits().len()
    }

    /// Whether `code` falls under this prefix.
    pub fn matches(&self, code: &HsCode) -> bool {
        code.digits().starts_with(self.digits())
    }
}

impl FromStr for HsPrefix {
    type Err = HsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (digits, count) = Digits::parse(s)?;
        match count {
            2 | 4 | 6 | 8 | 10 => Ok(HsPrefix(digits)),
            _ => Err(HsError::PrefixLength {
                input: shorten(s),
                digits: count,
            }),
        }
    }
}

/// A code selects itself as the most specific prefix.
impl From<HsCode> for HsPrefix {
    fn from(code: HsCode) -> Self {
        HsPrefix(code.0)
    }
}

/// The value whose prefix matches `code` with the most digits; among equally long matching
/// prefixes, the first one given. `None` when no prefix matches.
pub fn most_specific<'a, T>(
    code: &HsCode,
    candidates: impl IntoIterator<Item = (&'a HsPrefix, &'a T)>,
) -> Option<&'a T> {
    let mut best: Option<(usize, &'a T)> = None;
    for (prefix, value) in candidates {
        if prefix.matches(code) && best.is_none_or(|(len, _)| prefix.len() > len) {
            best = Some((prefix.len(), value));
        }
    }
    best.map(|(_, value)| value)
}

macro_rules! digits_text_impls {
    ($type:ty) => {
        /// The digits only, e.g. "081090".
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.digits())
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($type), self.digits())
            }
        }

        impl Ord for $type {
            fn cmp(&self, other: &Self) -> Ordering {
                self.digits().cmp(other.digits())
            }
        }

        impl PartialOrd for $type {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.digits())
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}

digits_text_impls!(HsCode);
digits_text_impls!(HsPrefix);

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> HsCode {
        s.parse().unwrap()
    }

    fn prefix(s: &str) -> HsPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_normalizes_common_notations() {
        for (input, digits) in [
            ("081090", "081090"),
            ("0810.90", "081090"),
            ("0810 90", "081090"),
            ("0810 90 10", "08109010"),
            ("0810.90.10", "08109010"),
            ("0810.90.1000", "0810901000"),
            (" 0901.21 ", "090121"),
            ("9801.00", "980100"),
            ("99.01.00", "990100"),
        ] {
            assert_eq!(code(input).digits(), digits, "{input}");
        }
    }

    #[test]
    fn accessors() {
        let c = code("0810.90.10");
        assert_eq!(
            (c.chapter(), c.heading(), c.subheading()),
            ("08", "0810", "081090")
        );
        assert!(c.is_national_extension());
        assert!(!code("081090").is_national_extension());
        assert!(code("980100").is_national_chapter());
        assert!(!c.is_national_chapter());
        assert_eq!(c.formatted(), "0810.90.10");
        assert_eq!(code("0901210000").formatted(), "0901.21.00.00");
        assert_eq!(code("090121").formatted(), "0901.21");
        assert_eq!(c.to_string(), "08109010");
        assert_eq!(format!("{c:?}"), "HsCode(08109010)");
    }

    #[test]
    fn rejects_wrong_lengths() {
        for (input, count) in [
            ("0810", 4),
            ("08", 2),
            ("0810901", 7),
            ("081090101", 9),
            ("08109010101", 11),
        ] {
            assert_eq!(
                input.parse::<HsCode>(),
                Err(HsError::CodeLength {
                    input: input.to_owned(),
                    digits: count
                }),
                "{input}"
            );
        }
        assert_eq!(
            "0810901".parse::<HsCode>().unwrap_err().to_string(),
            "\"0810901\" has 7 digits; an HS code has 6, or 8 or 10 for a national tariff line"
        );
        assert_eq!(
            "1".repeat(40).parse::<HsCode>().unwrap_err(),
            HsError::CodeLength {
                input: shorten(&"1".repeat(40)),
                digits: 40
            }
        );
    }

    #[test]
    fn rejects_malformed_input() {
        for input in [
            "",
            " ",
            "08A090",
            "0810-90",
            "0810..90",
            "0810  90",
            ".081090",
            "081090.",
            "0810,90",
            "０８１０９０",
            "0810\t90",
        ] {
            assert!(
                matches!(input.parse::<HsCode>(), Err(HsError::Malformed { .. })),
                "{input:?}"
            );
        }
        assert_eq!(
            "08A090".parse::<HsCode>().unwrap_err().to_string(),
            "\"08A090\" is not an HS code: expected digits, optionally grouped with dots or spaces as in \"0810.90\" or \"0810 90 10\""
        );
    }

    #[test]
    fn rejects_unused_chapters() {
        for input in ["000000", "7701.10", "00"] {
            assert!(
                matches!(input.parse::<HsCode>(), Err(HsError::Chapter { .. })),
                "{input}"
            );
            assert!(
                matches!(input.parse::<HsPrefix>(), Err(HsError::Chapter { .. })),
                "{input}"
            );
        }
        assert_eq!(
            "770110".parse::<HsCode>().unwrap_err().to_string(),
            "HS chapter 77 is not in use: chapters run from 01 to 97 (77 is reserved), with 98 and 99 for national use"
        );
        assert!("0100.00".parse::<HsCode>().is_ok());
        assert!("9706.00".parse::<HsCode>().is_ok());
    }

    #[test]
    fn prefixes_parse_at_even_lengths() {
        for input in ["08", "0810", "0810.90", "0810.90.10", "0810.90.10.00"] {
            let p = prefix(input);
            assert_eq!(p.len(), p.digits().len());
        }
        for input in ["0", "081", "08109", "0810901", "081090101", "08109010100"] {
            assert!(
                matches!(input.parse::<HsPrefix>(), Err(HsError::PrefixLength { .. })),
                "{input}"
            );
        }
        assert_eq!(
            "081".parse::<HsPrefix>().unwrap_err().to_string(),
            "\"081\" has 3 digits; an HS prefix has 2, 4, 6, 8 or 10"
        );
    }

    #[test]
    fn prefixes_match_codes_that_start_with_them() {
        let c = code("0810.90.10");
        for p in ["08", "0810", "081090", "08109010"] {
            assert!(prefix(p).matches(&c), "{p}");
        }
        for p in ["09", "0811", "081091", "08109011", "0810901000"] {
            assert!(!prefix(p).matches(&c), "{p}");
        }
        assert!(HsPrefix::from(c).matches(&c));
        assert_eq!(c.prefix(2), Some(prefix("08")));
        assert_eq!(c.prefix(8), Some(prefix("08109010")));
        assert_eq!((c.prefix(0), c.prefix(3), c.prefix(10)), (None, None, None));
    }

    #[test]
    fn most_specific_prefix_wins() {
        let rules = [
            (prefix("08"), "chapter"),
            (prefix("081090"), "subheading"),
            (prefix("0810"), "heading"),
        ];
        let pick = |c: &str| most_specific(&code(c), rules.iter().map(|(p, v)| (p, v))).copied();
        assert_eq!(pick("08109010"), Some("subheading"));
        assert_eq!(pick("081010"), Some("heading"));
        assert_eq!(pick("080110"), Some("chapter"));
        assert_eq!(pick("090111"), None);
        let ties = [(prefix("0810"), 1), (prefix("0810"), 2)];
        assert_eq!(
            most_specific(&code("081090"), ties.iter().map(|(p, v)| (p, v))),
            Some(&1)
        );
    }

    #[test]
    fn order_follows_the_digits() {
        let mut codes = [
            code("08109010"),
            code("081090"),
            code("010121"),
            code("0810901000"),
        ];
        codes.sort();
        let digits: Vec<&str> = codes.iter().map(HsCode::digits).collect();
        assert_eq!(digits, ["010121", "081090", "08109010", "0810901000"]);
        assert!(prefix("08") < prefix("0801"));
    }

    #[test]
    fn serde_as_digit_strings() {
        let c = code("0810.90.10");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"08109010\"");
        assert_eq!(serde_json::from_str::<HsCode>("\"0810.90.10\"").unwrap(), c);
        assert_eq!(serde_json::to_string(&prefix("08.10")).unwrap(), "\"0810\"");
        assert_eq!(
            serde_json::from_str::<HsPrefix>("\"0810\"").unwrap(),
            prefix("0810")
        );
        let err = serde_json::from_str::<HsCode>("\"0810901\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has 7 digits"), "{err}");
        assert!(serde_json::from_str::<HsCode>("81090").is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Chapters 01–97 without 77, plus 98 and 99.
        fn chapter() -> impl Strategy<Value = String> {
            (1_u8..=99)
                .prop_filter("77 is reserved", |c| *c != 77)
                .prop_map(|c| format!("{c:02}"))
        }

        fn hs_code() -> impl Strategy<Value = HsCode> {
            (
                chapter(),
                "[0-9]{8}",
                prop_oneof![Just(6_usize), Just(8), Just(10)],
            )
                .prop_map(|(chapter, rest, len)| {
                    format!("{chapter}{}", &rest[..len - 2]).parse().unwrap()
                })
        }

        fn hs_prefix() -> impl Strategy<Value = HsPrefix> {
            (hs_code(), 1_usize..=5).prop_filter_map("longer than the code", |(code, pairs)| {
                code.prefix(pairs * 2)
            })
        }

        /// A code and two prefix lengths it has, the first shorter than the second.
        fn code_with_two_prefix_lengths() -> impl Strategy<Value = (HsCode, usize, usize)> {
            hs_code().prop_flat_map(|code| {
                let pairs = code.digits().len() / 2;
                (1..pairs).prop_flat_map(move |short| {
                    (
                        Just(code),
                        Just(short * 2),
                        (short + 1..=pairs).prop_map(|long| long * 2),
                    )
                })
            })
        }

        proptest! {
            #[test]
            fn every_prefix_of_a_code_matches_it(code in hs_code()) {
                for len in (2..=code.digits().len()).step_by(2) {
                    let prefix = code.prefix(len).unwrap();
                    prop_assert!(prefix.matches(&code));
                    prop_assert_eq!(prefix.digits().parse::<HsPrefix>().unwrap(), prefix);
                }
            }

            #[test]
            fn written_forms_parse_to_the_same_code(code in hs_code()) {
                prop_assert_eq!(code.formatted().parse::<HsCode>().unwrap(), code);
                prop_assert_eq!(code.formatted().replace('.', " ").parse::<HsCode>().unwrap(), code);
                let json = serde_json::to_string(&code).unwrap();
                prop_assert_eq!(serde_json::from_str::<HsCode>(&json).unwrap(), code);
            }

            #[test]
            fn more_specific_prefix_wins((code, short, long) in code_with_two_prefix_lengths()) {
                let (short, long) = (code.prefix(short).unwrap(), code.prefix(long).unwrap());
                let both = [(short, "short"), (long, "long")];
                prop_assert_eq!(most_specific(&code, both.iter().map(|(p, v)| (p, v))), Some(&"long"));
                prop_assert_eq!(most_specific(&code, both.iter().rev().map(|(p, v)| (p, v))), Some(&"long"));
            }

            #[test]
            fn most_specific_agrees_with_brute_force(
                code in hs_code(),
                own in prop::collection::vec(1_usize..=5, 0..4),
                others in prop::collection::vec(hs_prefix(), 0..8),
            ) {
                let mut candidates: Vec<HsPrefix> = own.iter().filter_map(|pairs| code.prefix(pairs * 2)).collect();
                candidates.extend(others);
                let indexed: Vec<(HsPrefix, usize)> = candidates.into_iter().enumerate().map(|(i, p)| (p, i)).collect();
                let expected = indexed
                    .iter()
                    .filter(|(p, _)| p.matches(&code))
                    .max_by(|(p, i), (q, j)| p.len().cmp(&q.len()).then(j.cmp(i)))
                    .map(|(_, i)| i);
                prop_assert_eq!(most_specific(&code, indexed.iter().map(|(p, i)| (p, i))), expected);
            }
        }
    }
}
