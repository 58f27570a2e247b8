//! The buyer's national identity number, which China's cross-border retail regime uses to count
//! each person's purchases against the per-person limits. The platform never keeps the number
//! itself: only a keyed hash (to recognise the same person) and the last four characters (to
//! show the buyer which number was used).

use serde::Serialize;
use std::fmt;
use time::{Date, Month};

/// A checked Resident Identity Card number of the People's Republic of China (GB 11643-1999):
/// 17 digits (region, birth date, sequence) and an ISO 7064 MOD 11-2 check character.
#[derive(Clone, PartialEq, Eq)]
pub struct NationalId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum NationalIdError {
    #[error("a resident identity number has 18 characters: 17 digits and a digit or X")]
    Shape,
    #[error("the birth date in the number is not a real date")]
    BirthDate,
    #[error("the check character does not match: the number is mistyped")]
    Checksum,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

impl NationalId {
    /// The check character that completes 17 digits (ISO 7064 MOD 11-2), e.g. to make valid
    /// numbers for tests and load scenarios; `None` unless given exactly 17 digits.
    pub fn check_character(first17: &str) -> Option<char> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let sum: u32 = bytes
            .iter()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        Some(CHECK[(sum % 11) as usize])
    }

    /// Parses a number as typed: spaces are ignored and a lower-case `x` is accepted.
    pub fn parse(text: &str) -> Result<Self, NationalIdError> {
        let s: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = s.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(NationalIdError::Shape);
        }
        let digit = |i: usize| u32::from(bytes[i] - b'0');
        let year = (6..10).fold(0, |n, i| n * 10 + digit(i));
        let month = digit(10) * 10 + digit(11);
        let day = digit(12) * 10 + digit(13);
        let born = Month::try_from(u8::try_from(month).unwrap_or(0))
            .ok()
            .and_then(|m| {
                Date::from_calendar_date(
                    i32::try_from(year).unwrap_or(0),
                    m,
                    u8::try_from(day).unwrap_or(0),
                )
                .ok()
            });
        if born.is_none() || year < 1900 {
            return Err(NationalIdError::BirthDate);
        }
        if Self::check_character(&s[..17]) != Some(char::from(bytes[17])) {
            return Err(NationalIdError::Checksum);
        }
        Ok(NationalId(s))
    }

    /// The number in canonical form (what a keyed hash is taken of).
    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// The last four characters, the only part ever stored or shown.
    pub fn last4(&self) -> &str {
        &self.0[14..]
    }
}

/// Never print the number itself (logs, panics, debug output).
impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId(…{})", self.last4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Completes 17 digits with their check character.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", NationalId::check_character(first17).unwrap())
    }

    #[test]
    fn the_published_example_number_checks() {
        // The example in GB 11643-1999.
        let id = NationalId::parse("11010519491231002X").unwrap();
        assert_eq!(id.last4(), "002X");
        assert_eq!(NationalId::parse("11010519491231002x").unwrap(), id);
        assert_eq!(NationalId::parse("110105 19491231 002X").unwrap(), id);
        assert!(!format!("{id:?}").contains("1949"));
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            NationalId::parse("110105194912310021"),
            Err(NationalIdError::Checksum)
        );
        assert_eq!(
            NationalId::parse("1101051949123100"),
            Err(NationalIdError::Shape)
        );
        assert_eq!(
            NationalId::parse("11010519491231002Y"),
            Err(NationalIdError::Shape)
        );
        let feb30 = with_check("11010519490230002");
        assert_eq!(NationalId::parse(&feb30), Err(NationalIdError::BirthDate));
    }

    proptest! {
        #[test]
        fn any_single_digit_typo_is_caught(
            seq in 0u32..1000, pos in 0usize..17, delta in 1u8..10
        ) {
            let good = with_check(&format!("44030419900101{seq:03}"));
            prop_assert!(NationalId::parse(&good).is_ok());
            let mut bad = good.into_bytes();
            bad[pos] = b'0' + (bad[pos] - b'0' + delta) % 10;
            let bad = String::from_utf8(bad).unwrap();
            prop_assert!(NationalId::parse(&bad).is_err());
        }
    }
}
