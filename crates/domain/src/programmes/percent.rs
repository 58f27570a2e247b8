//! Percentages as exact decimals between 0 and 100.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    #[error("{0} is not a number")]
    NotANumber(String),
    #[error("a percentage must be between 0 and 100, not {0}")]
    OutOfRange(Decimal),
    #[error("a percentage has at most 2 decimal places ({0})")]
    TooPrecise(Decimal),
}

/// A percentage from 0 to 100 inclusive, at most two decimal places (e.g. 12.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Percent(Decimal);

impl Percent {
    pub const ZERO: Percent = Percent(Decimal::ZERO);
    pub const HUNDRED: Percent = Percent(Decimal::ONE_HUNDRED);

    pub fn new(value: Decimal) -> Result<Self, PercentError> {
        let value = value.normalize();
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(PercentError::OutOfRange(value));
        }
        if value.scale() > 2 {
            return Err(PercentError::TooPrecise(value));
        }
        Ok(Self(value))
    }

    pub fn parse(text: &str) -> Result<Self, PercentError> {
        let value: Decimal = text
            .trim()
            .parse()
            .map_err(|_| PercentError::NotANumber(text.to_owned()))?;
        Self::new(value)
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// The factor to multiply by: 12.5 % → 0.125.
    pub fn fraction(self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }
}

impl TryFrom<String> for Percent {
    type Error = PercentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Percent> for String {
    fn from(p: Percent) -> Self {
        p.0.to_string()
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_bounded_and_exact() {
        assert_eq!(Percent::parse("50").unwrap().fraction(), Decimal::new(5, 1));
        assert_eq!(Percent::parse("12.50").unwrap().to_string(), "12.5%");
        assert!(matches!(
            Percent::parse("100.01"),
            Err(PercentError::OutOfRange(_))
        ));
        assert!(matches!(
            Percent::parse("-1"),
            Err(PercentError::OutOfRange(_))
        ));
        assert!(matches!(
            Percent::parse("1.234"),
            Err(PercentError::TooPrecise(_))
        ));
        assert!(matches!(
            Percent::parse("half"),
            Err(PercentError::NotANumber(_))
        ));
    }
}
